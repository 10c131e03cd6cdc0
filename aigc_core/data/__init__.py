"""Datasets: read uploads, profile, clean, split, and store immutable versions other pages use."""

from aigc_core.data.clean import DEFAULT_LABEL_MAPPING, CleanResult, Recipe, StepReport, clean
from aigc_core.data.profile import ROLE_NAMES, Profile, Roles, infer_roles, profile
from aigc_core.data.readers import ReadResult, detect_encoding, list_sheets, read_file, sniff_delimiter
from aigc_core.data.samples import SAMPLES, load_sample
from aigc_core.data.split import SplitResult, split
from aigc_core.data.versions import (
    DatasetInfo,
    VersionInfo,
    create_dataset,
    delete_dataset,
    delete_version,
    export_version,
    get_version,
    import_dataframe,
    list_datasets,
    list_versions,
    load_version,
    save_original,
    save_version,
    usages,
)

__all__ = [
    "DEFAULT_LABEL_MAPPING",
    "ROLE_NAMES",
    "SAMPLES",
    "CleanResult",
    "DatasetInfo",
    "Profile",
    "ReadResult",
    "Recipe",
    "Roles",
    "SplitResult",
    "StepReport",
    "VersionInfo",
    "clean",
    "create_dataset",
    "delete_dataset",
    "delete_version",
    "detect_encoding",
    "export_version",
    "get_version",
    "import_dataframe",
    "infer_roles",
    "list_datasets",
    "list_sheets",
    "list_versions",
    "load_sample",
    "load_version",
    "profile",
    "read_file",
    "save_original",
    "save_version",
    "sniff_delimiter",
    "split",
    "usages",
]
