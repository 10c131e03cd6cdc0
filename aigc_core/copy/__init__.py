"""Ad copy: briefs in, ranked on-brand variants out (streaming, batch from CSV, history).

Importing this package does not import torch; the model is loaded on first generation."""

from aigc_core.copy.batch import (
    CopyBatchParams,
    batch_job,
    read_products,
    run_batch,
    save_upload,
    submit_batch,
    suggest_mapping,
)
from aigc_core.copy.brief import CHANNELS, LANGUAGES, TONES, Brief, validate_brief
from aigc_core.copy.generate import (
    NOTHING_USABLE_HINT,
    CopyResult,
    CopyRun,
    Variant,
    generate_copy,
    rerank,
    start_copy,
)
from aigc_core.copy.guardrails import DEFAULT_BANNED, Kit, Violation, check, delete_kit, get_kit, list_kits, save_kit
from aigc_core.copy.history import (
    EXPORT_FORMATS,
    HistoryEntry,
    add_training_examples,
    export,
    favourites,
    get_entry,
    list_history,
    rate,
    set_favourite,
)
from aigc_core.copy.limits import (
    CHANNEL_LIMITS,
    UNIT_HELP,
    UNIT_NAMES,
    count_chars,
    count_words,
    display_width,
    enforce,
)
from aigc_core.copy.lm import load_language_model
from aigc_core.copy.ranking import DEFAULT_WEIGHTS

__all__ = [
    "CHANNELS",
    "CHANNEL_LIMITS",
    "DEFAULT_BANNED",
    "DEFAULT_WEIGHTS",
    "EXPORT_FORMATS",
    "LANGUAGES",
    "NOTHING_USABLE_HINT",
    "TONES",
    "UNIT_HELP",
    "UNIT_NAMES",
    "Brief",
    "CopyBatchParams",
    "CopyResult",
    "CopyRun",
    "HistoryEntry",
    "Kit",
    "Variant",
    "Violation",
    "add_training_examples",
    "batch_job",
    "check",
    "count_chars",
    "count_words",
    "delete_kit",
    "display_width",
    "enforce",
    "export",
    "favourites",
    "generate_copy",
    "get_entry",
    "get_kit",
    "list_history",
    "list_kits",
    "load_language_model",
    "rate",
    "read_products",
    "rerank",
    "run_batch",
    "save_kit",
    "save_upload",
    "set_favourite",
    "start_copy",
    "submit_batch",
    "suggest_mapping",
    "validate_brief",
]
