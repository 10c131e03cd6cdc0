"""What the Sentiment page offers to pick from: dataset versions, classifiers, a new monitor's model, and the
labels of a model for the label-mapping editor. Each choice is a :class:`Choice` (value, label)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

from aigc_core.errors import UserInputError
from aigc_core.settings import get_settings
from aigc_core.users.roles import Actor, acting_as, current


class Choice(NamedTuple):
    """One option of a select box: the value passed back to the engine and the label shown."""

    value: str
    label: str


def dataset_versions(*, actor: Actor | None = None) -> list[Choice]:
    """The dataset versions the acting user may read, newest first."""
    from aigc_core.data import list_versions

    return [Choice(v.id, f"{v.dataset_name} · v{v.version} ({v.kind})") for v in list_versions(actor=current(actor))]


def default_model() -> str:
    """The model a new monitor starts with: the promoted classifier when there is one, else the embedded model."""
    from aigc_core.finetune.registry import promoted

    return "registry:promoted" if promoted("text-classification") is not None else "embedded"


def registry_classifiers(*, actor: Actor | None = None) -> list[Choice]:
    """``registry:<id>`` choices of the fine-tuned text classifiers the acting user may see, promoted first."""
    from aigc_core.finetune.registry import list_versions

    with acting_as(current(actor)):  # the registry shows each user theirs, shared and promoted versions
        versions = list_versions("text-classification")
    rows = [(v.id, v.name, v.promoted) for v in sorted(versions, key=lambda v: not v.promoted)]
    out = [Choice(f"registry:{vid}", f"{name}{' (promoted)' if promoted else ''}") for vid, name, promoted in rows]
    if any(promoted for _, _, promoted in rows):  # follows whichever version is promoted when scoring
        out.insert(0, Choice("registry:promoted", "The promoted classifier (whichever is promoted)"))
    return out


def model_raw_labels(model: str) -> list[str]:
    """The labels a classifier folder or hub model defines (for the label-mapping editor)."""
    spec = (model or "").strip()
    if spec.startswith("registry:"):  # the catalog's lookup: "promoted" now, owner checks, the version's task
        from aigc_core.models.catalog import resolve
        from aigc_core.models.task_table import TEXT_CLASSIFICATION

        spec = str(resolve(TEXT_CLASSIFICATION, spec).local_path)  # NotFoundError for another's private version
    cfg_path = Path(spec).expanduser() / "config.json"
    if cfg_path.is_file():
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    else:
        try:
            from huggingface_hub import hf_hub_download

            ref, _, rev = spec.partition("@")
            cfg = json.loads(
                Path(
                    hf_hub_download(
                        ref, "config.json", revision=rev or None, local_files_only=get_settings().is_offline
                    )
                ).read_text(encoding="utf-8")
            )
        except Exception as exc:
            raise UserInputError(
                f"Could not read the labels of {model!r}.", hint="Type the mapping as LABEL_0=negative,..."
            ) from exc
    id2label = cfg.get("id2label") or {}
    n = int(cfg.get("num_labels", len(id2label) or 0))
    return [str(id2label.get(str(i), id2label.get(i, f"LABEL_{i}"))) for i in range(n)]
