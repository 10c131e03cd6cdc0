"""Where a monitor's first rows come from: a dataset version of the Data page, read through ``aigc_core.data``
(which applies the dataset's owner checks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aigc_core.monitor.ingest import ROLES
from aigc_core.users.roles import Actor, acting_as, current

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from aigc_core.data import VersionInfo


def check_dataset_version(version_id: str, *, actor: Actor | None = None) -> VersionInfo:
    """A dataset version the acting user may read (its dataset is theirs or shared); NotFoundError otherwise."""
    from aigc_core.data import get_version

    return get_version(version_id, actor=current(actor))


def load_dataset_version(version_id: str, *, actor: Actor | None = None) -> pd.DataFrame:
    """All rows of a dataset version the acting user may read."""
    from aigc_core.data import load_version

    who = current(actor)
    check_dataset_version(version_id, actor=who)
    with acting_as(who):  # the data layer checks the same user again
        return load_version(version_id)


def dataset_roles(version_id: str, *, actor: Actor | None = None) -> dict[str, str]:
    """The column roles stored on a dataset version the acting user may read, as a monitor mapping."""
    roles = dict(check_dataset_version(version_id, actor=actor).roles or {})
    out: dict[str, str] = {}
    for role, col in roles.items():
        key = "id" if role in {"id", "id_column"} else role.removesuffix("_column")
        if key in ROLES and isinstance(col, str) and col:
            out[key] = col
    return out
