"""Minimum data checks before preference training: enough pairs, enough distinct briefs, duplicate briefs and
leakage between train and test; a clear message saying what is missing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from aigc_core.errors import UserInputError

MIN_TRAIN_PAIRS = 20
MIN_TEST_PAIRS = 4
MIN_BRIEFS = 5
MAX_BRIEF_SHARE = 0.5  # one brief may hold at most this share of the training pairs


class PreferenceDataError(UserInputError):
    """The preference data is too small or unsound to train on; the message lists every problem."""


class _Pair(Protocol):
    @property
    def prompt(self) -> str: ...
    @property
    def chosen(self) -> str: ...
    @property
    def rejected(self) -> str: ...
    @property
    def brief_key(self) -> str: ...


@dataclass
class PreferenceCheck:
    """What the checks found: counts, problems (training refused) and notes (worth knowing)."""

    n_train: int
    n_test: int
    briefs_train: int
    briefs_test: int
    duplicate_briefs: int  # briefs that occur in several generations (kept together by the split)
    leaked_briefs: int
    dropped_identical: int
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (stored with the dataset version and the model version)."""
        return asdict(self)


def check_preferences(
    train: Sequence[_Pair],
    test: Sequence[_Pair],
    *,
    min_train_pairs: int = MIN_TRAIN_PAIRS,
    min_test_pairs: int = MIN_TEST_PAIRS,
    min_briefs: int = MIN_BRIEFS,
    raise_on_problems: bool = False,
) -> PreferenceCheck:
    """Check the split pairs; with ``raise_on_problems`` a PreferenceDataError lists what is missing."""
    identical = sum(1 for p in [*train, *test] if p.chosen.strip() == p.rejected.strip())
    train = [p for p in train if p.chosen.strip() != p.rejected.strip()]
    test = [p for p in test if p.chosen.strip() != p.rejected.strip()]
    k_train, k_test = Counter(p.brief_key for p in train), Counter(p.brief_key for p in test)
    gens: dict[str, set[str]] = {}
    for p in [*train, *test]:
        gens.setdefault(p.brief_key, set()).add(str(getattr(p, "generation_id", "")))
    duplicates = sum(1 for g in gens.values() if len(g) > 1)
    leaked = set(k_train) & set(k_test)
    text_leak = {(p.prompt, p.chosen, p.rejected) for p in train} & {(p.prompt, p.chosen, p.rejected) for p in test}
    problems: list[str] = []
    notes: list[str] = []
    if len(train) < min_train_pairs:
        problems.append(
            f"{len(train)} training pair(s); at least {min_train_pairs} are needed. Mark more variants used, 👍 or 👎 "
            "(a used or 👍 variant next to a 👎 or unused one of the same brief makes a pair), or edit variants."
        )
    if len(test) < min_test_pairs:
        problems.append(
            f"{len(test)} held-out pair(s); at least {min_test_pairs} are needed to measure preference accuracy. "
            "Give feedback on more different briefs."
        )
    n_briefs = len(set(k_train) | set(k_test))
    if n_briefs < min_briefs:
        problems.append(
            f"The pairs come from {n_briefs} distinct brief(s); at least {min_briefs} are needed, "
            "or the model learns one brief instead of your voice."
        )
    if train and k_train and max(k_train.values()) > MAX_BRIEF_SHARE * len(train) and len(train) >= 4:
        problems.append(
            f"One brief holds {max(k_train.values())} of the {len(train)} training pairs; give feedback on other "
            "briefs too."
        )
    if leaked or text_leak:
        problems.append(
            f"{len(leaked) or len(text_leak)} brief(s) are in both the train and the test split (leakage): the "
            "held-out accuracy would be inflated. Split by brief."
        )
    if duplicates:
        notes.append(f"{duplicates} brief(s) were generated more than once; their pairs are kept in the same split.")
    if identical:
        notes.append(f"{identical} pair(s) with the same chosen and rejected text were dropped.")
    check = PreferenceCheck(
        len(train), len(test), len(k_train), len(k_test), duplicates, len(leaked), identical, problems, notes
    )
    if raise_on_problems and problems:
        raise PreferenceDataError(
            "The preference data is not ready for training: " + " ".join(problems),
            hint="Give feedback on more variants on the Ad copy page (used, 👍/👎, edit), then build the data again.",
        )
    return check
