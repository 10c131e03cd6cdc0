"""Synthetic examples for under-represented classes, written by the language model from real examples of the class.

They are proposed for review (the page shows them in an editable table) and every accepted row is marked
``synthetic=True`` in the training split and counted in the model version.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aigc_core.errors import UserInputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

Generator = Callable[[str], str]
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)]|\"|')\s*")


@dataclass
class SyntheticPlan:
    """How many extra examples each class gets."""

    target_per_class: int
    needed: dict[str, int]


def plan_synthetic(df: pd.DataFrame, label_column: str, target_per_class: int | None = None) -> SyntheticPlan:
    """Classes below the target (default: the median class size, at least 10) and how many rows each lacks."""
    if label_column not in df.columns:
        raise UserInputError(f"No label column {label_column!r}.", hint="Pick the label column first.")
    counts = df[label_column].dropna().astype(str).value_counts()
    if counts.empty:
        raise UserInputError("The dataset has no labelled rows.", hint="Label some rows first.")
    target = target_per_class or max(10, int(counts.median()))
    return SyntheticPlan(target, {str(k): int(target - v) for k, v in counts.items() if v < target})


def build_prompt(label: str, examples: list[str], k: int) -> str:
    """The instruction the model gets: real examples of the class, then a request for k new ones."""
    shown = "\n".join(f"- {e.strip()[:300]}" for e in examples)
    return (
        f"Here are short texts labelled '{label}':\n{shown}\n\n"
        f"Write {k} new, different texts with the same label '{label}', in the same style and length. "
        "One text per line, no numbering, no explanations."
    )


def parse_lines(output: str) -> list[str]:
    """Candidate texts from a model answer: one per line, bullets and numbering removed."""
    out = []
    for line in output.splitlines():
        text = _BULLET.sub("", line).strip().strip('"').strip()
        if len(text) >= 8 and not text.lower().startswith(("here are", "sure", "note:")):
            out.append(text)
    return out


def default_generator(model: str | None = None) -> Generator:
    """A generator backed by the Ad copy language model (``aigc_core.tasks.text_generation``)."""
    from aigc_core.tasks import text_generation

    calls = {"n": 0}

    def generate(prompt: str) -> str:
        calls["n"] += 1  # a new seed per call, so repeated prompts give new examples
        result: Any = text_generation.generate(
            prompt, model=model, max_new_tokens=200, temperature=0.9, seed=calls["n"]
        )
        return str(getattr(result, "text", None) or getattr(result, "texts", [""])[0] or result)

    return generate


def propose_synthetic(
    df: pd.DataFrame,
    text_column: str,
    label_column: str,
    *,
    generate: Generator | None = None,
    target_per_class: int | None = None,
    per_prompt: int = 5,
    shots: int = 5,
    max_calls_per_class: int = 10,
    seed: int = 0,
) -> pd.DataFrame:
    """Proposed rows (text, label, synthetic=True) for the classes below the target; duplicates dropped."""
    import pandas as pd

    plan = plan_synthetic(df, label_column, target_per_class)
    gen = generate or default_generator()
    rng = random.Random(seed)
    seen = {str(t).strip().lower() for t in df[text_column].dropna()}
    rows: list[dict[str, Any]] = []
    for label, needed in plan.needed.items():
        pool = df.loc[df[label_column].astype(str) == label, text_column].dropna().astype(str).tolist()
        got = 0
        for _ in range(max_calls_per_class):
            if got >= needed:
                break
            prompt = build_prompt(label, rng.sample(pool, min(shots, len(pool))), min(per_prompt, needed - got))
            for text in parse_lines(gen(prompt)):
                key = text.lower()
                if key in seen or got >= needed:
                    continue
                seen.add(key)
                rows.append({text_column: text, label_column: label, "synthetic": True})
                got += 1
    return pd.DataFrame(rows, columns=[text_column, label_column, "synthetic"])


def save_synthetic_version(version_id: str, rows: list[dict[str, Any]]) -> str:
    """A new dataset version (kind ``synthetic``, parent ``version_id``) whose training split gets the reviewed rows,
    each marked ``synthetic=True``; validation and test stay real. Returns the new version id."""
    import pandas as pd

    from aigc_core import data

    if not rows:
        raise UserInputError("No synthetic rows were kept.", hint="Tick the rows to keep in the review table.")
    info = data.get_version(version_id)
    extra = pd.DataFrame(rows).assign(synthetic=True)

    def mark(df: pd.DataFrame) -> pd.DataFrame:
        return df if "synthetic" in df.columns else df.assign(synthetic=False)

    meta = {"n_synthetic": len(extra), "synthetic_of": version_id}
    recipe = {"synthetic_rows": len(extra), "note": "LM-written examples for under-represented classes, reviewed"}
    if info.splits:
        frames = {s: mark(data.load_version(version_id, split=s)) for s in info.splits}
        frames["train"] = pd.concat([frames["train"], extra], ignore_index=True)
        new = data.save_version(info.dataset_id, kind="synthetic", parent_id=version_id, roles=info.roles,
                                splits=frames, recipe=recipe, meta=meta)  # fmt: skip
    else:
        whole = pd.concat([mark(data.load_version(version_id)), extra], ignore_index=True)
        new = data.save_version(info.dataset_id, whole, kind="synthetic", parent_id=version_id, roles=info.roles,
                                recipe=recipe, meta=meta)  # fmt: skip
    return new.id
