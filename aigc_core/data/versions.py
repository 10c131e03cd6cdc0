"""Versioned datasets: immutable Parquet versions under the data dir, one store row each."""

from __future__ import annotations

import hashlib
import io
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from aigc_core.data.clean import Recipe
from aigc_core.data.profile import Roles
from aigc_core.data.split import SPLITS, SplitResult
from aigc_core.errors import ConflictError, NotFoundError, UserInputError
from aigc_core.storage import atomic_dir, atomic_write_bytes, folder, safe_child, safe_name
from aigc_core.store import Dataset, DatasetVersion, Job, ModelVersion, Monitor, session_scope
from aigc_core.store.models import as_utc
from aigc_core.users.audit import record
from aigc_core.users.roles import Action, Actor, check_item, current, owned_row, require, visible_filter

KINDS = ("original", "clean", "split", "synthetic")


@dataclass
class DatasetInfo:
    """A dataset and a summary of its versions."""

    id: str
    name: str
    description: str
    created_at: datetime
    n_versions: int = 0
    latest_version_id: str | None = None
    owner: str = ""
    shared: bool = False


@dataclass
class VersionInfo:
    """One stored dataset version."""

    id: str
    dataset_id: str
    dataset_name: str
    version: int
    kind: str
    parent_id: str | None
    path: Path
    columns: list[str]
    roles: dict[str, str]
    row_counts: dict[str, int]
    recipe: dict[str, Any]
    source: dict[str, Any]
    created_at: datetime
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def splits(self) -> list[str]:
        """Splits stored in this version (empty when unsplit)."""
        return [s for s in SPLITS if s in self.row_counts]

    @property
    def label(self) -> str:
        """Short label for pickers: "name · vN (kind, rows)"."""
        return f"{self.dataset_name} · v{self.version} ({self.kind}, {self.row_counts.get('total', 0):,} rows)"


def _info(row: DatasetVersion, name: str) -> VersionInfo:
    cols = [c["name"] if isinstance(c, dict) else str(c) for c in (row.schema or {}).get("columns", [])]
    return VersionInfo(
        id=row.id,
        dataset_id=row.dataset_id,
        dataset_name=name,
        version=row.version,
        kind=row.kind,
        parent_id=row.parent_id,
        path=Path(row.path),
        columns=cols,
        roles=dict(row.roles or {}),
        row_counts={k: int(v) for k, v in (row.row_counts or {}).items()},
        recipe=dict(row.recipe or {}),
        source=dict(row.source or {}),
        created_at=as_utc(row.created_at),
        meta=dict(row.meta or {}),
    )


# ------------------------------------------------------------------------------------------------
# Datasets
# ------------------------------------------------------------------------------------------------
def _missing(dataset_id: str) -> NotFoundError:
    return NotFoundError(f"Dataset {dataset_id!r} does not exist.", hint="Pick one from the list.")


def _dataset_row(s: Any, dataset_id: str, action: Action, actor: Actor | None) -> Dataset:
    """The dataset row, when the acting user may ``action`` it (another's private one reads as missing)."""
    return owned_row(s, Dataset, dataset_id, action, actor, kind="dataset", not_found=_missing(dataset_id))


def create_dataset(name: str, description: str = "", *, actor: Actor | None = None) -> DatasetInfo:
    """A new, empty dataset owned by the acting user (private until shared); names are unique."""
    who = require(actor, "create", what="datasets")
    name = (name or "").strip()
    if not name:
        raise UserInputError("The dataset needs a name.", hint="Type a short name, e.g. 'tweets-2024'.")
    if len(name) > 200:
        raise UserInputError("The dataset name is too long.", hint="Use at most 200 characters.")
    with session_scope() as s:
        if s.scalar(select(Dataset).where(Dataset.name == name)) is not None:
            raise ConflictError(f"A dataset named {name!r} already exists.", hint="Pick another name.")
        row = Dataset(name=name, description=description or "", owner=who.name)
        s.add(row)
        s.flush()
        return DatasetInfo(row.id, row.name, row.description, as_utc(row.created_at), owner=who.name)


def unique_name(base: str) -> str:
    """``base``, or ``base (2)``, ``base (3)`` … whichever is free."""
    with session_scope() as s:
        taken = set(s.scalars(select(Dataset.name)))
    if base not in taken:
        return base
    n = 2
    while f"{base} ({n})" in taken:
        n += 1
    return f"{base} ({n})"


def list_datasets(*, actor: Actor | None = None) -> list[DatasetInfo]:
    """The acting user's datasets and shared ones (admins: all), newest first, with version count and latest."""
    who = current(actor)
    with session_scope() as s:
        out = []
        q = select(Dataset).where(visible_filter(who, Dataset.owner, Dataset.shared))
        for ds in s.scalars(q.order_by(Dataset.created_at.desc())):
            versions = s.execute(
                select(DatasetVersion.id, DatasetVersion.version)
                .where(DatasetVersion.dataset_id == ds.id)
                .order_by(DatasetVersion.version.desc())
            ).all()
            out.append(
                DatasetInfo(
                    ds.id,
                    ds.name,
                    ds.description,
                    as_utc(ds.created_at),
                    n_versions=len(versions),
                    latest_version_id=versions[0][0] if versions else None,
                    owner=ds.owner or "",
                    shared=bool(ds.shared),
                )
            )
        return out


def get_dataset(dataset_id: str, *, actor: Actor | None = None) -> DatasetInfo:
    """One dataset the acting user may see."""
    with session_scope() as s:
        _dataset_row(s, dataset_id, "read", actor)
    for ds in list_datasets(actor=actor):
        if ds.id == dataset_id:
            return ds
    raise _missing(dataset_id)


def set_dataset_shared(dataset_id: str, shared: bool = True, *, actor: Actor | None = None) -> DatasetInfo:
    """Share a dataset (all its versions) with the team, or make it private again (its owner or an admin)."""
    with session_scope() as s:
        _dataset_row(s, dataset_id, "share", actor).shared = bool(shared)
    record(current(actor), "dataset.share" if shared else "dataset.unshare", "dataset", dataset_id)
    return get_dataset(dataset_id, actor=actor)


def list_versions(dataset_id: str | None = None, *, actor: Actor | None = None) -> list[VersionInfo]:
    """Versions of one dataset (or of every dataset the acting user may see), newest first."""
    who = current(actor)
    with session_scope() as s:
        q = select(DatasetVersion, Dataset.name).join(Dataset, Dataset.id == DatasetVersion.dataset_id)
        q = q.where(visible_filter(who, Dataset.owner, Dataset.shared))
        if dataset_id:
            _dataset_row(s, dataset_id, "read", who)
            q = q.where(DatasetVersion.dataset_id == dataset_id)
        q = q.order_by(DatasetVersion.created_at.desc(), DatasetVersion.version.desc())
        return [_info(v, name) for v, name in s.execute(q).all() if not (v.meta or {}).get("writing")]


def get_version(version_id: str, *, actor: Actor | None = None) -> VersionInfo:
    """One dataset version the acting user may see (its dataset is theirs or shared)."""
    missing = NotFoundError(f"Dataset version {version_id!r} does not exist.", hint="Pick one from the list.")
    with session_scope() as s:
        row = s.get(DatasetVersion, version_id)
        if row is None:
            raise missing
        ds = s.get(Dataset, row.dataset_id)
        if ds is not None:
            check_item(
                actor,
                "read",
                owner=ds.owner or "",
                shared=bool(ds.shared),
                kind="dataset_version",
                item_id=version_id,
                not_found=missing,
            )
        return _info(row, ds.name if ds else "")


# ------------------------------------------------------------------------------------------------
# Validation at save
# ------------------------------------------------------------------------------------------------
def validate_for_save(df: pd.DataFrame, roles: Roles) -> list[str]:
    """Refuse data other pages cannot use; returns warnings that do not block saving."""
    roles.check(df)
    warnings: list[str] = []
    if not roles.text:
        raise UserInputError(
            "No text column is set, so no page can use this data.",
            hint="Set the 'text' role to the column that holds the texts.",
        )
    text = df[roles.text]
    if not (pd.api.types.is_string_dtype(text) or text.dtype == object):
        raise UserInputError(
            f"Column {roles.text!r} holds {text.dtype} values, not text.", hint="Pick a column of texts as 'text'."
        )
    if text.astype("str").str.strip().replace("", None).isna().all():
        raise UserInputError(f"Column {roles.text!r} has no non-empty texts.", hint="Pick another text column.")
    if roles.label:
        lab = df[roles.label]
        missing = int(lab.isna().sum() + (lab.astype("str").str.strip() == "").sum())
        if missing:
            raise UserInputError(
                f"{missing:,} row(s) have no label in {roles.label!r}.",
                hint="Drop them (Clean → drop unmapped/empty labels), fill them in, or clear the 'label' role.",
            )
        n = lab.nunique()
        if n < 2:
            raise UserInputError(
                f"The label column {roles.label!r} has a single class ({lab.iloc[0]!r}).",
                hint="A classifier needs at least two classes: add examples or clear the 'label' role.",
            )
    if roles.timestamp:
        from aigc_core.data.clean import parse_timestamps

        ts = df[roles.timestamp]
        if not pd.api.types.is_datetime64_any_dtype(ts):
            _, bad = parse_timestamps(ts)
            if bad.any():
                ex = ", ".join(repr(v) for v in ts[bad].astype("str").head(5))
                raise UserInputError(
                    f"{int(bad.sum()):,} timestamp(s) in {roles.timestamp!r} do not parse, e.g. {ex}.",
                    hint="Run 'parse timestamps' in Clean (and drop the unparseable rows) or clear the role.",
                )
    return warnings


# ------------------------------------------------------------------------------------------------
# Saving
# ------------------------------------------------------------------------------------------------
def _parquet_safe(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy(deep=False)
    out.columns = [str(c) for c in out.columns]
    for c in out.columns:
        if out[c].dtype == object:  # mixed Python objects: store as text
            out[c] = out[c].map(lambda v: v if v is None or isinstance(v, str) else str(v)).astype("str")
    return out


def _schema(df: pd.DataFrame) -> dict[str, Any]:
    return {"columns": [{"name": str(c), "dtype": str(t)} for c, t in df.dtypes.items()]}


def save_version(
    dataset_id: str,
    df: pd.DataFrame | None = None,
    *,
    kind: str = "clean",
    parent_id: str | None = None,
    roles: Roles | dict[str, Any] | None = None,
    recipe: Recipe | dict[str, Any] | None = None,
    source: dict[str, Any] | None = None,
    splits: SplitResult | dict[str, pd.DataFrame] | None = None,
    meta: dict[str, Any] | None = None,
    validate: bool = True,
    actor: Actor | None = None,
) -> VersionInfo:
    """Write a new immutable version (Parquet under ``datasets/<id>/v<N>/``) and its store row (the dataset's
    owner or an admin)."""
    if kind not in KINDS:
        raise UserInputError(f"Unknown version kind {kind!r}.", hint=f"Use one of {', '.join(KINDS)}.")
    frames: dict[str, pd.DataFrame]
    if splits is not None:
        frames = dict(splits.frames if isinstance(splits, SplitResult) else splits)
        frames = {k: v for k, v in frames.items() if v is not None and (len(v) or k == "train")}
        unknown = set(frames) - set(SPLITS)
        if unknown:
            raise UserInputError(f"Unknown split(s) {sorted(unknown)}.", hint=f"Use {', '.join(SPLITS)}.")
        whole = pd.concat(list(frames.values()), ignore_index=True)
    elif df is not None:
        frames = {}
        whole = df
    else:
        raise UserInputError("Nothing to save.", hint="Give a DataFrame or splits.")
    if len(whole) == 0:
        raise UserInputError("The data has no rows left to save.", hint="Loosen the cleaning steps.")
    roles_obj = roles if isinstance(roles, Roles) else Roles.from_dict(roles)
    warnings = validate_for_save(whole, roles_obj) if validate and kind != "original" else []
    recipe_d = recipe.model_dump() if isinstance(recipe, Recipe) else dict(recipe or {})
    counts: dict[str, int] = {"total": len(whole), **{name: len(f) for name, f in frames.items()}}
    row_meta = {**(meta or {}), "warnings": warnings} if warnings else dict(meta or {})
    # 1) reserve the version number with a committed row (unique per dataset), marked as being written,
    #    so two concurrent saves can never write into the same folder
    try:
        with session_scope() as s:
            _dataset_row(s, dataset_id, "change", actor)
            if parent_id and s.get(DatasetVersion, parent_id) is None:
                raise NotFoundError(f"Parent version {parent_id!r} does not exist.", hint="Pick one from the list.")
            last = s.scalar(select(func.max(DatasetVersion.version)).where(DatasetVersion.dataset_id == dataset_id))
            number = int(last or 0) + 1
            target = folder("datasets") / dataset_id / f"v{number}"
            row = DatasetVersion(
                dataset_id=dataset_id,
                version=number,
                parent_id=parent_id,
                kind=kind,
                path=str(target),
                schema=_schema(whole),
                roles=roles_obj.to_dict(),
                row_counts=counts,
                recipe=recipe_d,
                source=dict(source or {}),
                meta={**row_meta, "writing": True},
            )
            s.add(row)
            s.flush()
            version_id = row.id
    except IntegrityError as exc:
        raise ConflictError(
            "Another version of this dataset was saved at the same moment.", hint="Save again."
        ) from exc
    # 2) write the files atomically, 3) mark the row complete; on any failure the row goes away
    try:
        with atomic_dir(target) as tmp:
            if frames:
                for name, frame in frames.items():
                    _parquet_safe(frame).to_parquet(tmp / f"{name}.parquet", index=False)
            else:
                _parquet_safe(whole).to_parquet(tmp / "data.parquet", index=False)
        with session_scope() as s:
            done = s.get(DatasetVersion, version_id)
            if done is None:  # deleted while its files were written
                raise ConflictError("The version was deleted while it was being saved.", hint="Save again.")
            done.meta = row_meta
    except BaseException:
        with session_scope() as s:
            stale = s.get(DatasetVersion, version_id)
            if stale is not None:
                s.delete(stale)
        shutil.rmtree(target, ignore_errors=True)
        raise
    return get_version(version_id)


def save_original(
    dataset_id: str,
    raw: bytes,
    filename: str,
    df: pd.DataFrame,
    *,
    roles: Roles | dict[str, Any] | None = None,
    source: dict[str, Any] | None = None,
) -> VersionInfo:
    """Keep the uploaded file untouched under uploads/ and its parsed rows as version 1 (kind "original")."""
    digest = hashlib.sha256(raw).hexdigest()
    raw_path = safe_child(folder("uploads"), dataset_id, f"{digest[:12]}_{safe_name(filename, default='upload')}")
    atomic_write_bytes(raw_path, raw)
    src = {"filename": filename, "sha256": digest, "raw_path": str(raw_path), "bytes": len(raw), **(source or {})}
    return save_version(dataset_id, df, kind="original", roles=roles, source=src, validate=False)


def import_dataframe(
    name: str,
    df: pd.DataFrame,
    *,
    raw: bytes | None = None,
    filename: str = "upload.csv",
    roles: Roles | dict[str, Any] | None = None,
    description: str = "",
    source: dict[str, Any] | None = None,
) -> VersionInfo:
    """Create a dataset and store ``df`` (and the raw upload) as its original version 1."""
    ds = create_dataset(name, description)
    try:
        if raw is None:
            raw = df.to_csv(index=False).encode("utf-8")
        return save_original(ds.id, raw, filename, df, roles=roles, source=source)
    except Exception:
        delete_dataset(ds.id, force=True)
        raise


# ------------------------------------------------------------------------------------------------
# Loading and export
# ------------------------------------------------------------------------------------------------
def load_version(version_id: str, split: str | None = None) -> pd.DataFrame:
    """Rows of a version; ``split`` picks train/validation/test, None gives all rows (with a ``split`` column
    when the version is split)."""
    info = get_version(version_id)
    path = info.path
    if not path.exists():
        raise NotFoundError(
            f"The files of dataset version {info.label} are missing from {path}.",
            hint="Restore the data dir from a backup, or delete this version.",
        )
    if split is not None:
        if split not in SPLITS:
            raise UserInputError(f"Unknown split {split!r}.", hint=f"Use one of {', '.join(SPLITS)}.")
        file = path / f"{split}.parquet"
        if not file.exists():
            raise NotFoundError(
                f"Dataset version {info.label} has no {split} split.", hint="Split it on the Data page (Split & save)."
            )
        return pd.read_parquet(file)
    if (path / "data.parquet").exists():
        return pd.read_parquet(path / "data.parquet")
    parts = []
    for name in SPLITS:
        file = path / f"{name}.parquet"
        if file.exists():
            part = pd.read_parquet(file)
            part["split"] = name
            parts.append(part)
    if not parts:
        raise NotFoundError(f"Dataset version {info.label} has no data files.", hint="Delete this version.")
    return pd.concat(parts, ignore_index=True)


def export_version(version_id: str, fmt: Literal["csv", "parquet"] = "csv") -> bytes:
    """All rows of a version as CSV (UTF-8) or Parquet bytes."""
    df = load_version(version_id)
    if fmt == "csv":
        return df.to_csv(index=False).encode("utf-8")
    if fmt == "parquet":
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return buf.getvalue()
    raise UserInputError(f"Unknown export format {fmt!r}.", hint="Use csv or parquet.")


# ------------------------------------------------------------------------------------------------
# Deleting
# ------------------------------------------------------------------------------------------------
def _refs(value: Any, target: str) -> bool:
    if isinstance(value, str):
        return value == target
    if isinstance(value, dict):
        return any(_refs(v, target) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_refs(v, target) for v in value)
    return False


def usages(version_id: str) -> list[str]:
    """What uses a version: jobs whose params reference it, model versions, monitors."""
    out: list[str] = []
    with session_scope() as s:
        for job in s.scalars(select(Job)):
            if _refs(job.params or {}, version_id):
                out.append(f"job {job.id} ({job.kind}, {job.status})")
        for mv in s.scalars(select(ModelVersion).where(ModelVersion.dataset_version_id == version_id)):
            out.append(f"model version {mv.name} ({mv.id})")
        for mon in s.scalars(select(Monitor).where(Monitor.dataset_version_id == version_id)):
            out.append(f"monitor {mon.name}")
    return out


def delete_version(version_id: str, force: bool = False, *, actor: Actor | None = None) -> None:
    """Delete a version (the dataset's owner or an admin); refuses with ConflictError while something uses it
    unless ``force``."""
    info = get_version(version_id, actor=actor)
    with session_scope() as s:
        _dataset_row(s, info.dataset_id, "change", actor)
    used = usages(version_id)
    if used and not force:
        raise ConflictError(
            f"Dataset version {info.label} is in use by: {'; '.join(used[:10])}.",
            hint="Confirm the deletion to delete it anyway (they keep a note of the deleted version id).",
        )
    with session_scope() as s:
        for mv in s.scalars(select(ModelVersion).where(ModelVersion.dataset_version_id == version_id)):
            mv.meta = {**(mv.meta or {}), "dataset_version_ref": version_id}
            mv.dataset_version_id = None
        for mon in s.scalars(select(Monitor).where(Monitor.dataset_version_id == version_id)):
            mon.meta = {**(mon.meta or {}), "dataset_version_ref": version_id}
            mon.dataset_version_id = None
        for child in s.scalars(select(DatasetVersion).where(DatasetVersion.parent_id == version_id)):
            child.meta = {**(child.meta or {}), "parent_deleted": version_id}
            child.parent_id = None
        row = s.get(DatasetVersion, version_id)
        if row is not None:
            s.delete(row)
    shutil.rmtree(info.path, ignore_errors=True)
    record(current(actor), "dataset_version.delete", "dataset_version", version_id, detail={"label": info.label})


def delete_dataset(dataset_id: str, force: bool = False, *, actor: Actor | None = None) -> None:
    """Delete a dataset with all its versions and uploads (its owner or an admin); refuses while a version is in
    use unless ``force``."""
    with session_scope() as s:
        ds = _dataset_row(s, dataset_id, "change", actor)
        name = ds.name
        ids = [v for v in s.scalars(select(DatasetVersion.id).where(DatasetVersion.dataset_id == dataset_id))]
    used = [f"v:{vid} → {u}" for vid in ids for u in usages(vid)]
    if used and not force:
        raise ConflictError(
            f"Dataset {name!r} has versions in use: {'; '.join(used[:10])}.",
            hint="Confirm the deletion to delete it anyway.",
        )
    # children first so parent links never dangle
    for vid in sorted(ids, key=lambda v: -get_version(v, actor=actor).version):
        delete_version(vid, force=True, actor=actor)
    with session_scope() as s:
        gone = s.get(Dataset, dataset_id)
        if gone is not None:
            s.delete(gone)
    shutil.rmtree(folder("datasets") / dataset_id, ignore_errors=True)
    shutil.rmtree(folder("uploads") / dataset_id, ignore_errors=True)
    record(current(actor), "dataset.delete", "dataset", dataset_id, detail={"name": name})
