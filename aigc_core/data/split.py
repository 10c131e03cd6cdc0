"""Train/validation/test split, stratified by label when possible, with a fixed seed."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from aigc_core.errors import UserInputError

SPLITS = ("train", "validation", "test")


@dataclass
class SplitResult:
    """The three frames (validation/test may be empty) and any warnings."""

    frames: dict[str, pd.DataFrame]
    stratified: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """Rows per split."""
        return {k: len(v) for k, v in self.frames.items()}


def check_fractions(validation: float, test: float) -> None:
    """Validate split sizes (fractions of the rows)."""
    for name, v in (("validation", validation), ("test", test)):
        if not 0.0 <= v < 1.0:
            raise UserInputError(f"The {name} size must be between 0 and 1, not {v}.", hint="E.g. 0.1 for 10%.")
    if validation + test >= 0.9:
        raise UserInputError(
            f"Validation + test = {validation + test:.0%} leaves too little for training.",
            hint="Keep validation + test under 90% (typically 10–20% each).",
        )


def split(
    df: pd.DataFrame,
    *,
    label: str | None = None,
    validation: float = 0.1,
    test: float = 0.1,
    seed: int = 42,
) -> SplitResult:
    """Split ``df``; stratified by ``label`` unless a class is too small (then random, with a warning)."""
    from sklearn.model_selection import train_test_split

    check_fractions(validation, test)
    if len(df) < 3 and (validation or test):
        raise UserInputError(f"Only {len(df)} row(s): too few to split.", hint="Set validation and test to 0.")
    warnings: list[str] = []
    stratify = None
    if label:
        counts = df[label].value_counts(dropna=False)
        n_holdout = len(df) * (validation + test)
        smallest = int(counts.min())
        if len(counts) < 2:
            warnings.append("Only one label value: the split is not stratified.")
        elif smallest < 3 or n_holdout < len(counts) * 2:
            warnings.append(
                f"Class {counts.idxmin()!r} has only {smallest} row(s): too few to stratify, so the split is random."
            )
        else:
            stratify = df[label].astype("str").fillna("(missing)")
    rest_frac = validation + test
    if rest_frac == 0:
        frames = {"train": df.reset_index(drop=True), "validation": df.head(0), "test": df.head(0)}
        return SplitResult(frames, stratified=False, warnings=warnings)
    train, rest = train_test_split(df, test_size=rest_frac, random_state=seed, stratify=stratify)
    if validation == 0 or test == 0:
        val, tst = (rest, rest.head(0)) if test == 0 else (rest.head(0), rest)
    else:
        strat_rest = stratify.loc[rest.index] if stratify is not None else None
        try:
            val, tst = train_test_split(rest, test_size=test / rest_frac, random_state=seed, stratify=strat_rest)
        except ValueError:
            val, tst = train_test_split(rest, test_size=test / rest_frac, random_state=seed)
    frames = {k: v.reset_index(drop=True) for k, v in zip(SPLITS, (train, val, tst), strict=True)}
    return SplitResult(frames, stratified=stratify is not None, warnings=warnings)
