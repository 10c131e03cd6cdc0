"""Preference data from feedback: (chosen, rejected) pairs for the same brief, split by brief, saved as a dataset
version the DPO job trains on.

The rule: within one generation (one brief), a variant marked *used* or 👍 is preferred over a 👎 one, and — once
the marketer has used a variant — over the variants left unused (unless those got 👍). An edit is preferred over
the text it was edited from. A brief generated several times is one group, so a split never puts the same brief in
train and test."""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import asdict, dataclass
from itertools import product
from typing import Any

from aigc_core.copy import history
from aigc_core.copy.brief import Brief
from aigc_core.feedback.checks import PreferenceCheck, check_preferences
from aigc_core.users.roles import Actor, current

PREFERENCE_DATASET = "brand-voice preferences"
COLUMNS = ("prompt", "chosen", "rejected", "brief_key", "source", "generation_id", "brand_kit", "model")
MAX_PAIRS_PER_BRIEF = 8
HISTORY_LIMIT = 5000


@dataclass(frozen=True)
class PreferencePair:
    """One preference: for ``prompt`` (the brief as text), ``chosen`` beats ``rejected``."""

    prompt: str
    chosen: str
    rejected: str
    brief_key: str
    source: str  # choice | edit
    generation_id: str = ""
    brand_kit: str = ""
    model: str = ""

    def to_dict(self) -> dict[str, str]:
        """A row of the dataset version."""
        return asdict(self)


def brief_key(prompt: str) -> str:
    """A stable key of a brief's text (case and spacing ignored): equal briefs share it."""
    norm = re.sub(r"\s+", " ", prompt.strip().lower())
    return hashlib.sha1(norm.encode("utf-8")).hexdigest()[:16]


def _prompt(brief: dict[str, Any]) -> str:
    known = {k: v for k, v in brief.items() if k in Brief.model_fields}
    try:
        return Brief.model_validate(known).as_text() if known else ""
    except ValueError:
        return ""


def entry_pairs(entry: history.HistoryEntry, *, max_pairs: int = MAX_PAIRS_PER_BRIEF) -> list[PreferencePair]:
    """The preference pairs one generation's feedback implies (see the module docstring for the rule)."""
    prompt = _prompt(entry.brief)
    if not prompt:
        return []
    key, kit = brief_key(prompt), str(entry.brief.get("brand_kit") or "")
    variants = entry.variants
    any_used = any(v.get("used") for v in variants)
    good = [i for i, v in enumerate(variants) if v.get("used") or int(v.get("rating", 0)) == 1]
    bad = [
        i
        for i, v in enumerate(variants)
        if i not in good and (int(v.get("rating", 0)) == -1 or (any_used and not v.get("used")))
    ]
    out: list[PreferencePair] = []
    for g, b in product(good, bad):
        chosen, rejected = history.latest_text(variants[g]).strip(), str(variants[b].get("text", "")).strip()
        if chosen and rejected and chosen != rejected:
            out.append(PreferencePair(prompt, chosen, rejected, key, "choice", entry.id, kit, entry.model))
    out = out[:max_pairs]
    for v in variants:
        original, edited = str(v.get("text", "")).strip(), history.latest_text(v).strip()
        if v.get("versions") and edited and original and edited != original:
            out.append(PreferencePair(prompt, edited, original, key, "edit", entry.id, kit, entry.model))
    return out


def preference_pairs(entries: list[history.HistoryEntry]) -> list[PreferencePair]:
    """All pairs of the given generations, without exact duplicates (same brief, chosen and rejected)."""
    seen: set[tuple[str, str, str]] = set()
    out = []
    for entry in entries:
        for p in entry_pairs(entry):
            k = (p.brief_key, p.chosen, p.rejected)
            if k not in seen:
                seen.add(k)
                out.append(p)
    return out


def split_by_brief(
    pairs: list[PreferencePair], *, test_share: float = 0.2, seed: int = 0
) -> tuple[list[PreferencePair], list[PreferencePair]]:
    """(train, test) with every brief wholly on one side; at least one brief is held out when there are two."""
    groups: dict[str, list[PreferencePair]] = {}
    for p in pairs:
        groups.setdefault(p.brief_key, []).append(p)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    n_test = round(len(keys) * test_share)
    if len(keys) >= 2:
        n_test = min(max(1, n_test), len(keys) - 1)
    test_keys = set(keys[:n_test])
    train = [p for p in pairs if p.brief_key not in test_keys]
    test = [p for p in pairs if p.brief_key in test_keys]
    return train, test


def _dataset_id(name: str, actor: Actor | None) -> str:
    from aigc_core import data as data_api

    existing = next((d for d in data_api.list_datasets(actor=actor) if d.name == name), None)
    if existing is not None:
        return existing.id
    info = data_api.create_dataset(
        name, "Preference pairs (brief, chosen, rejected) from ad copy feedback, for DPO.", actor=actor
    )
    return info.id


def build_preference_dataset(
    *,
    name: str = "",
    test_share: float = 0.2,
    seed: int = 0,
    min_train_pairs: int | None = None,
    min_test_pairs: int | None = None,
    actor: Actor | None = None,
) -> tuple[str, PreferenceCheck]:
    """Build pairs from the feedback on every generation the acting user may see, split them by brief, check
    them (PreferenceDataError with what is missing) and save a new version; returns (version id, check)."""
    import pandas as pd

    from aigc_core import data as data_api

    who = current(actor)
    entries = history.list_history(limit=HISTORY_LIMIT, actor=who)
    pairs = preference_pairs(entries)
    train, test = split_by_brief(pairs, test_share=test_share, seed=seed)
    limits = {k: v for k, v in (("min_train_pairs", min_train_pairs), ("min_test_pairs", min_test_pairs)) if v}
    check = check_preferences(train, test, raise_on_problems=True, **limits)
    name = (name or "").strip() or (f"{PREFERENCE_DATASET} ({who.name})" if who.name else PREFERENCE_DATASET)
    dataset_id = _dataset_id(name, who)

    def frame(rows: list[PreferencePair]) -> pd.DataFrame:
        return pd.DataFrame([p.to_dict() for p in rows], columns=list(COLUMNS))

    info = data_api.save_version(
        dataset_id,
        kind="split",
        splits={"train": frame(train), "test": frame(test)},
        roles={"text": "chosen"},
        source={"from": "ad copy feedback", "generations": len(entries), "pairs": len(pairs)},
        meta={"preference": True, "prompt_column": "prompt", "check": check.to_dict()},
        actor=who,
    )
    return info.id, check
