"""Model registry: every fine-tuning run becomes a model version (folder under ``<data>/models/<id>``) with
lineage and metrics; promote / roll back per task; export loadable with plain ``from_pretrained``; guarded delete.

A version belongs to the user who trained it and is private until shared; the promoted version of a task is a team
resource everyone reads and uses. Promoting and rolling back are admin actions; a version that scores worse than
its base model is never promoted."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select

from aigc_core.errors import ConflictError, NotFoundError, UserInputError
from aigc_core.finetune.params import CAUSAL_LM_TASK, CLASSIFIER_TASK
from aigc_core.storage import atomic_write_text, folder
from aigc_core.store import models as m
from aigc_core.store.db import session_scope
from aigc_core.store.models import as_utc
from aigc_core.users.audit import record
from aigc_core.users.roles import Action, Actor, check_item, current, require, visible_filter

TASKS = (CLASSIFIER_TASK, CAUSAL_LM_TASK)
REGISTRY_PREFIX = "registry:"


@dataclass
class ModelVersionInfo:
    """A model version as the UI and other features see it."""

    id: str
    task: str
    name: str
    base_model: str
    path: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    dataset_version_id: str | None
    parent_id: str | None
    job_id: str | None
    promoted: bool
    promoted_at: datetime | None
    created_at: datetime
    meta: dict[str, Any] = field(default_factory=dict)
    owner: str = ""
    shared: bool = False

    @property
    def ref(self) -> str:
        """The value other pages and settings use to pick this version."""
        return f"{REGISTRY_PREFIX}{self.id}"

    @property
    def has_adapter(self) -> bool:
        """True when the weights are LoRA adapters kept in ``adapter/``."""
        return (Path(self.path) / "adapter" / "adapter_config.json").is_file()


def _info(row: m.ModelVersion) -> ModelVersionInfo:
    return ModelVersionInfo(
        id=row.id,
        task=row.task,
        name=row.name,
        base_model=row.base_model,
        path=row.path,
        params=dict(row.params or {}),
        metrics=dict(row.metrics or {}),
        dataset_version_id=row.dataset_version_id,
        parent_id=row.parent_id,
        job_id=row.job_id,
        promoted=bool(row.promoted),
        promoted_at=as_utc(row.promoted_at),
        created_at=as_utc(row.created_at) or datetime.now(UTC),
        meta=dict(row.meta or {}),
        owner=row.owner or "",
        shared=bool(row.shared),
    )


def _missing(version_id: str) -> NotFoundError:
    return NotFoundError(f"Model version {version_id!r} does not exist.", hint="Pick one from the registry table.")


def _version_row(s: Any, version_id: str, action: Action, actor: Actor | None) -> m.ModelVersion:
    """The version row, when the acting user may ``action`` it (another's private one reads as missing; the
    promoted one is readable by everyone)."""
    row = s.get(m.ModelVersion, version_id) if version_id else None
    if row is None:
        raise _missing(version_id)
    check_item(
        actor,
        action,
        owner=row.owner or "",
        shared=bool(row.shared or row.promoted),
        kind="model_version",
        item_id=version_id,
        not_found=_missing(version_id),
    )
    return row


def _visible(who: Actor) -> Any:
    """WHERE clause: the acting user's versions, shared ones and promoted ones (admins: all)."""
    if who.is_admin:
        return visible_filter(who, m.ModelVersion.owner)
    return or_(visible_filter(who, m.ModelVersion.owner, m.ModelVersion.shared), m.ModelVersion.promoted.is_(True))


def new_version_dir() -> tuple[str, Path]:
    """A fresh version id and its (not yet existing) folder under ``<data>/models``."""
    version_id = m.new_id()
    return version_id, folder("models") / version_id


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def model_card(info: ModelVersionInfo) -> str:
    """A README.md describing the version: what it is, how it was trained, how well it does, how to load it."""
    metrics = info.metrics
    lines = [
        "---",
        f"base_model: {info.base_model}",
        f"pipeline_tag: {info.task}",
        "library_name: transformers" + ("\ntags: [peft, lora]" if info.has_adapter else ""),
        "---",
        "",
        f"# {info.name}",
        "",
        f"Fine-tuned with AIGC Studio from `{info.base_model}` for **{info.task}** "
        f"(version `{info.id}`, created {info.created_at:%Y-%m-%d %H:%M} UTC).",
        "",
        "## Data",
        f"- Dataset version: `{info.dataset_version_id or info.meta.get('dataset_version_ref') or 'n/a'}`",
    ]
    for k in ("n_train", "n_validation", "n_test", "n_synthetic", "labels"):
        if k in info.meta:
            lines.append(f"- {k.replace('_', ' ')}: {info.meta[k]}")
    lines += ["", "## Evaluation", "", "| metric | tuned | base |", "| --- | --- | --- |"]
    tuned, base = metrics.get("test", {}), metrics.get("base", {})
    for key in ("accuracy", "macro_f1", "perplexity"):
        if key in tuned or key in base:
            lines.append(f"| {key} | {_fmt(tuned.get(key, ''))} | {_fmt(base.get(key, ''))} |")
    train = info.params.get("train", {})
    lines += ["", "## Training", ""]
    lines += [f"- {k}: {v}" for k, v in train.items()]
    lora = info.params.get("lora", {})
    if lora.get("enabled") or info.has_adapter:
        lines.append(f"- LoRA: r={lora.get('r')}, alpha={lora.get('alpha')}, targets={lora.get('target_modules')}")
    if info.parent_id:
        lines.append(f"- Continued from version `{info.parent_id}`")
    lines += ["", "## Use", "", "```python"]
    if info.task == CLASSIFIER_TASK:
        lines += [
            "from transformers import AutoModelForSequenceClassification, AutoTokenizer",
            'model = AutoModelForSequenceClassification.from_pretrained("<this folder>")',
            'tokenizer = AutoTokenizer.from_pretrained("<this folder>")',
        ]
    else:
        lines += [
            "from transformers import AutoModelForCausalLM, AutoTokenizer",
            'model = AutoModelForCausalLM.from_pretrained("<exported folder>")  # export merges the adapter',
            'tokenizer = AutoTokenizer.from_pretrained("<exported folder>")',
        ]
    lines += ["```", ""]
    return "\n".join(lines)


def register_version(
    *,
    version_id: str,
    path: Path,
    task: str,
    name: str,
    base_model: str,
    params: dict[str, Any],
    metrics: dict[str, Any],
    dataset_version_id: str | None = None,
    parent_id: str | None = None,
    job_id: str | None = None,
    meta: dict[str, Any] | None = None,
    actor: Actor | None = None,
) -> ModelVersionInfo:
    """Record a saved model folder as a version owned by the acting user (inside a training job: the job's
    owner), private until shared; writes params.json, metrics.json and the model card into it."""
    who = require(actor, "create", what="model versions")
    if task not in TASKS:
        raise UserInputError(f"Unknown task {task!r}.", hint=f"Use one of: {', '.join(TASKS)}.")
    if not (path / "config.json").is_file() and not (path / "adapter" / "adapter_config.json").is_file():
        raise UserInputError(f"{path} holds no model (no config.json or adapter).", hint="Save the model first.")
    meta = dict(meta or {})
    with session_scope() as s:
        # Lineage references that are not (or no longer) in the store are kept in meta instead of the foreign key.
        if dataset_version_id and s.get(m.DatasetVersion, dataset_version_id) is None:
            meta["dataset_version_ref"], dataset_version_id = dataset_version_id, None
        if job_id and s.get(m.Job, job_id) is None:
            meta["job_ref"], job_id = job_id, None
        row = m.ModelVersion(
            id=version_id,
            task=task,
            name=name or f"{task} {version_id[:6]}",
            base_model=base_model,
            path=str(path),
            params=params,
            metrics=metrics,
            dataset_version_id=dataset_version_id or None,
            parent_id=parent_id,
            job_id=job_id,
            meta=meta,
            owner=who.name,
        )
        s.add(row)
        s.flush()
        info = _info(row)
    atomic_write_text(path / "params.json", json.dumps(params, indent=2, default=str))
    atomic_write_text(path / "metrics.json", json.dumps(metrics, indent=2, default=str))
    atomic_write_text(path / "README.md", model_card(info))
    return info


def get_version(version_id: str, *, actor: Actor | None = None) -> ModelVersionInfo:
    """One version the acting user may see (theirs, shared or promoted; admins: any), or NotFoundError."""
    with session_scope() as s:
        return _info(_version_row(s, version_id, "read", actor))


def list_versions(task: str | None = None, *, actor: Actor | None = None) -> list[ModelVersionInfo]:
    """The versions the acting user may see (theirs, shared and promoted ones; admins: all), newest first
    (optionally of one task)."""
    who = current(actor)
    with session_scope() as s:
        q = select(m.ModelVersion).where(_visible(who)).order_by(m.ModelVersion.created_at.desc())
        if task:
            q = q.where(m.ModelVersion.task == task)
        return [_info(r) for r in s.scalars(q)]


def set_version_shared(version_id: str, shared: bool = True, *, actor: Actor | None = None) -> ModelVersionInfo:
    """Share a version with the team, or make it private again (its owner or an admin)."""
    with session_scope() as s:
        row = _version_row(s, version_id, "share", actor)
        row.shared = bool(shared)
        s.flush()
        info = _info(row)
    record(current(actor), "model_version.share" if shared else "model_version.unshare", "model_version", version_id)
    return info


def promoted(task: str) -> ModelVersionInfo | None:
    """The version ``registry:promoted`` resolves to for ``task`` (None when nothing is promoted)."""
    with session_scope() as s:
        row = s.scalars(
            select(m.ModelVersion).where(m.ModelVersion.task == task, m.ModelVersion.promoted.is_(True))
        ).first()
        return _info(row) if row else None


def resolve_ref(value: str, task: str, *, actor: Actor | None = None) -> ModelVersionInfo:
    """``registry:<id>`` (a version the acting user may see) or ``registry:promoted`` -> the version."""
    key = value.removeprefix(REGISTRY_PREFIX).strip()
    if key in {"promoted", ""}:
        info = promoted(task)
        if info is None:
            raise NotFoundError(f"No {task} model version is promoted yet.", hint="Promote one on the Fine-tune page.")
        return info
    return get_version(key, actor=actor)


def worse_than_base(info: ModelVersionInfo) -> str:
    """Why the version scores worse than its base model on its own test split ('' when it does not, or when
    there is nothing to compare): lower macro-F1 for classifiers, higher perplexity for language models."""
    tuned, base = info.metrics.get("test") or {}, info.metrics.get("base") or {}
    f1, base_f1 = tuned.get("macro_f1"), base.get("macro_f1")
    if isinstance(f1, int | float) and isinstance(base_f1, int | float) and f1 < base_f1:
        return f"its macro-F1 {f1:.3f} is below the base model's {base_f1:.3f}"
    ppl, base_ppl = tuned.get("perplexity"), base.get("perplexity")
    if isinstance(ppl, int | float) and isinstance(base_ppl, int | float) and ppl > base_ppl:
        return f"its perplexity {ppl:.2f} is above the base model's {base_ppl:.2f}"
    return ""


def promote(version_id: str, *, actor: Actor | None = None) -> ModelVersionInfo:
    """Make this version the promoted one of its task, the default for everyone (admins only; the previous one
    is remembered for rollback). A version worse than its base model is refused (ConflictError)."""
    who = require(actor, "admin", what="promote a model", kind="model_version", item_id=version_id)
    now = datetime.now(UTC)
    with session_scope() as s:
        row = s.get(m.ModelVersion, version_id)
        if row is None:
            raise _missing(version_id)
        worse = worse_than_base(_info(row))
        if worse:
            record(who, "model_version.promote_refused", "model_version", version_id, detail={"reason": worse})
            raise ConflictError(
                f"Model version {row.name!r} is not promoted: {worse}.",
                hint="Keep the current default, or train again (more data or epochs) until it beats the base model.",
            )
        previous = []
        for other in s.scalars(
            select(m.ModelVersion).where(m.ModelVersion.task == row.task, m.ModelVersion.promoted.is_(True))
        ):
            other.promoted = False
            previous.append(other.id)
        row.promoted = True
        row.promoted_at = now
        meta = dict(row.meta or {})
        meta["promotions"] = [*meta.get("promotions", []), now.isoformat()]
        row.meta = meta
        s.flush()
        info = _info(row)
    record(who, "model_version.promote", "model_version", version_id, detail={"task": info.task, "previous": previous})
    return info


def rollback(task: str, *, actor: Actor | None = None) -> ModelVersionInfo:
    """Promote again the version that was promoted before the current one (admins only)."""
    who = require(actor, "admin", what=f"roll back the {task} model", kind="model_version", item_id=task)
    now_promoted = promoted(task)
    candidates = [
        v
        for v in list_versions(task, actor=who)
        if v.meta.get("promotions") and (now_promoted is None or v.id != now_promoted.id)
    ]
    if not candidates:
        raise ConflictError(
            f"There is no earlier promoted {task} version to roll back to.",
            hint="Promote a version explicitly from the registry table.",
        )
    previous = max(candidates, key=lambda v: v.meta["promotions"][-1])
    info = promote(previous.id, actor=who)
    record(
        who,
        "model_version.rollback",
        "model_version",
        info.id,
        detail={"task": task, "from": now_promoted.id if now_promoted else ""},
    )
    return info


def unpromote(task: str, *, actor: Actor | None = None) -> None:
    """No promoted version for ``task`` (pages fall back to the catalog default; admins only)."""
    who = require(actor, "admin", what=f"unpromote the {task} model", kind="model_version", item_id=task)
    with session_scope() as s:
        ids = []
        for row in s.scalars(
            select(m.ModelVersion).where(m.ModelVersion.task == task, m.ModelVersion.promoted.is_(True))
        ):
            row.promoted = False
            ids.append(row.id)
    record(who, "model_version.unpromote", "model_version", ",".join(ids), detail={"task": task})


def usages(version_id: str, *, actor: Actor | None = None) -> list[str]:
    """What still uses a version (one the acting user may see): promotion, monitors, versions continued from
    it, settings."""
    from aigc_core.settings import get_settings

    info = get_version(version_id, actor=actor)
    found: list[str] = []
    if info.promoted:
        found.append(f"it is the promoted {info.task} model")
    refs = {version_id, info.ref, info.path}
    with session_scope() as s:
        for mon in s.scalars(select(m.Monitor).where(or_(*(m.Monitor.model == r for r in refs)))):
            found.append(f"monitor {mon.name!r} scores with it")
        for child in s.scalars(select(m.ModelVersion).where(m.ModelVersion.parent_id == version_id)):
            found.append(f"version {child.name!r} ({child.id}) was continued from it")
    settings = get_settings()
    for key in ("sentiment_model", "text_generation_model"):
        if str(getattr(settings, key, "")) in refs:
            found.append(f"setting AIGC_{key.upper()} points at it")
    return found


def delete_version(version_id: str, *, actor: Actor | None = None) -> None:
    """Delete a version and its folder (its owner or an admin), unless something still uses it (ConflictError
    lists what)."""
    with session_scope() as s:
        _version_row(s, version_id, "change", actor)
    used = usages(version_id, actor=actor)
    if used:
        raise ConflictError(
            f"Model version {version_id} is still in use: {'; '.join(used)}.",
            hint="Promote another version, point the monitors elsewhere, or delete the dependent versions first.",
        )
    info = get_version(version_id, actor=actor)
    with session_scope() as s:
        row = s.get(m.ModelVersion, version_id)
        if row is not None:
            s.delete(row)
    models_root = folder("models").resolve()
    path = Path(info.path).resolve()
    if path.is_relative_to(models_root) and path != models_root:
        shutil.rmtree(path, ignore_errors=True)
    record(current(actor), "model_version.delete", "model_version", version_id, detail={"name": info.name})


def _base_dir_of(info: ModelVersionInfo) -> Path | None:
    base = info.meta.get("base_path")
    return Path(base) if base and Path(base).is_dir() else None


def export_version(
    version_id: str,
    *,
    fmt: str = "folder",
    merge: bool = True,
    target: Path | None = None,
    actor: Actor | None = None,
) -> Path:
    """Copy a version to ``<data>/exports`` as a folder or zip loadable with plain ``from_pretrained``.

    LM adapters are merged into the base weights when ``merge`` is true; otherwise the adapter folder is exported
    (loadable with peft, or transformers when peft is installed and the base path exists).
    """
    if fmt not in {"folder", "zip"}:
        raise UserInputError(f"Unknown export format {fmt!r}.", hint="Use folder or zip.")
    info = get_version(version_id, actor=actor)
    src = Path(info.path)
    if not src.is_dir():
        raise NotFoundError(f"The files of version {version_id} are missing ({src}).", hint="Delete the version.")
    out = target or folder("exports") / f"{info.task}-{version_id}"
    if out.exists():
        shutil.rmtree(out)
    if info.has_adapter and info.task == CAUSAL_LM_TASK:
        base = _base_dir_of(info)
        if merge:
            if base is None:
                raise _base_missing(info)
            from aigc_core.finetune.causal_lm import load_causal_lm

            model, tok = load_causal_lm(src, base, merge=True)
            model.save_pretrained(str(out), safe_serialization=True)
            tok.save_pretrained(str(out))
        else:
            shutil.copytree(src / "adapter", out)
            for f in src.iterdir():
                if f.is_file():
                    shutil.copy2(f, out / f.name)
    else:
        shutil.copytree(src, out, ignore=shutil.ignore_patterns("adapter", "gguf"))  # gguf: GGUF exports
    for extra in ("README.md", "params.json", "metrics.json"):
        if (src / extra).is_file():
            shutil.copy2(src / extra, out / extra)
    if fmt == "zip":
        archive = shutil.make_archive(str(out), "zip", root_dir=out)
        shutil.rmtree(out)
        return Path(archive)
    return out


def _base_missing(info: ModelVersionInfo) -> Exception:
    """The error raised when an adapter's base model is gone."""
    from aigc_core.errors import ModelUnavailableError

    return ModelUnavailableError(
        f"The base model of version {info.id} ({info.base_model}) is no longer available to merge the adapter into.",
        hint="Export without merging (adapter only), or make the base model available again.",
    )
