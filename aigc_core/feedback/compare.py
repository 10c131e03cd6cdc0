"""Blind comparison: two models answer the same briefs, the user picks the better answer of each pair without
knowing which model wrote it; the win rate of model A with its Wilson 95% interval is stored."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from aigc_core.errors import NotFoundError, UserInputError
from aigc_core.store import session_scope
from aigc_core.store.models import BlindComparison, as_utc
from aigc_core.users.roles import Actor, current, owned_row, require, visible_filter

MAX_BRIEFS = 50
PICKS = ("left", "right", "tie")
BASE_PREFIX = "base:"  # "base:<version id>": the base model a registry version was trained from
Z95 = 1.959963984540054

AnswerFn = Callable[[str, list[str]], list[str]]


def wilson_interval(wins: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``wins / n`` (0..1 both ends; (0, 1) when n is 0)."""
    if n <= 0:
        return 0.0, 1.0
    p = wins / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class BlindItem:
    """One brief with two answers shown as left and right; which model is which stays hidden until all picks."""

    brief: str
    left: str
    right: str
    pick: str | None = None  # left | right | tie
    a_side: str | None = None  # revealed when the comparison is complete


@dataclass
class ComparisonInfo:
    """A comparison's state: items, tally and (once complete) the reveal."""

    id: str
    name: str
    owner: str
    model_a: str
    model_b: str
    items: list[BlindItem]
    wins_a: int
    wins_b: int
    ties: int
    win_rate_a: float | None
    ci_low: float | None
    ci_high: float | None
    created_at: datetime | None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every item has a pick."""
        return all(i.pick for i in self.items)

    @property
    def remaining(self) -> int:
        """Items still to pick."""
        return sum(1 for i in self.items if not i.pick)

    def summary(self) -> str:
        """One line: win rate of A with its interval (ties excluded)."""
        if self.win_rate_a is None:
            return f"No decisive picks yet ({self.ties} tie(s))."
        return (
            f"A wins {self.wins_a}, B wins {self.wins_b}, ties {self.ties}: win rate of A {self.win_rate_a:.0%} "
            f"(95% Wilson interval {self.ci_low:.0%}–{self.ci_high:.0%}, ties excluded)"
        )


def _info(row: BlindComparison) -> ComparisonInfo:
    raw = [dict(i) for i in row.items or []]
    done = all(i.get("pick") for i in raw)
    items = [
        BlindItem(i["brief"], i["left"], i["right"], i.get("pick"), i.get("a_side") if done else None) for i in raw
    ]
    return ComparisonInfo(
        row.id, row.name, row.owner, row.model_a if done else "hidden", row.model_b if done else "hidden", items,
        row.wins_a, row.wins_b, row.ties, row.win_rate_a, row.ci_low, row.ci_high, as_utc(row.created_at),
        dict(row.meta or {}),
    )  # fmt: skip


def _tally(row: BlindComparison) -> None:
    wins_a = wins_b = ties = 0
    for i in row.items or []:
        p = i.get("pick")
        if p == "tie":
            ties += 1
        elif p:
            if p == i.get("a_side"):
                wins_a += 1
            else:
                wins_b += 1
    row.wins_a, row.wins_b, row.ties = wins_a, wins_b, ties
    n = wins_a + wins_b
    row.win_rate_a = wins_a / n if n else None
    row.ci_low, row.ci_high = wilson_interval(wins_a, n) if n else (None, None)


def model_answers(value: str, briefs: list[str], *, actor: Actor | None = None, max_new_tokens: int = 60) -> list[str]:
    """Greedy answers of a model to the briefs: ``registry:<id>`` (a version the acting user may read) or
    ``base:<id>`` (the base model that version was trained from)."""
    from aigc_core.finetune import registry
    from aigc_core.finetune.causal_lm import load_causal_lm
    from aigc_core.finetune.evaluate import generate_samples

    value = (value or "").strip()
    if value.startswith(BASE_PREFIX):
        info = registry.get_version(value[len(BASE_PREFIX) :], actor=actor)
        base = info.meta.get("base_path")
        if not base:
            raise UserInputError(f"Version {info.name} records no base model.", hint="Compare two versions instead.")
        model, tok = load_causal_lm(base)
    else:
        info = registry.resolve_ref(value, "text-generation", actor=actor)
        model, tok = load_causal_lm(info.path, info.meta.get("base_path"))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    system = str(info.meta.get("system_prompt") or "")
    return generate_samples(model, tok, briefs, max_new_tokens=max_new_tokens, system_prompt=system)


def start_comparison(
    model_a: str,
    model_b: str,
    briefs: list[str],
    *,
    name: str = "",
    seed: int | None = None,
    answer_fn: AnswerFn | None = None,
    actor: Actor | None = None,
) -> ComparisonInfo:
    """Let both models answer every brief and store the blind pairs (sides shuffled); owned by the acting user."""
    who = require(actor, "create", what="comparisons")
    briefs = [b.strip() for b in briefs if b and b.strip()]
    if not (model_a or "").strip() or not (model_b or "").strip():
        raise UserInputError("Pick two models to compare.", hint="Choose model A and model B.")
    if model_a.strip() == model_b.strip():
        raise UserInputError("Model A and model B are the same.", hint="Pick two different models.")
    if not briefs:
        raise UserInputError("There are no briefs to answer.", hint="Generate some ad copy first, or type briefs.")
    if len(briefs) > MAX_BRIEFS:
        raise UserInputError(f"At most {MAX_BRIEFS} briefs per comparison.", hint="Pick fewer briefs.")
    answer = answer_fn or (lambda value, bs: model_answers(value, bs, actor=who))
    answers_a, answers_b = answer(model_a, briefs), answer(model_b, briefs)
    rng = random.Random(seed)
    items = []
    for brief, a, b in zip(briefs, answers_a, answers_b, strict=True):
        a_left = rng.random() < 0.5
        items.append(
            {"brief": brief, "left": a if a_left else b, "right": b if a_left else a,
             "a_side": "left" if a_left else "right", "pick": None}
        )  # fmt: skip
    with session_scope() as s:
        row = BlindComparison(
            name=name.strip() or "comparison", owner=who.name, model_a=model_a, model_b=model_b, items=items
        )
        s.add(row)
        s.flush()
        return _info(row)


def _missing(comparison_id: str) -> NotFoundError:
    return NotFoundError(f"There is no comparison {comparison_id!r}.", hint="Pick one from the list.")


def get_comparison(comparison_id: str, *, actor: Actor | None = None) -> ComparisonInfo:
    """A comparison the acting user may see (model names hidden until every pick is made)."""
    with session_scope() as s:
        row = owned_row(s, BlindComparison, comparison_id, "read", actor, kind="comparison",
                        not_found=_missing(comparison_id))  # fmt: skip
        return _info(row)


def list_comparisons(*, limit: int = 50, actor: Actor | None = None) -> list[ComparisonInfo]:
    """The acting user's comparisons and shared ones (admins: all), newest first."""
    who = current(actor)
    with session_scope() as s:
        q = select(BlindComparison).where(visible_filter(who, BlindComparison.owner, BlindComparison.shared))
        return [_info(r) for r in s.scalars(q.order_by(BlindComparison.created_at.desc()).limit(limit))]


def pick(comparison_id: str, index: int, choice: str, *, actor: Actor | None = None) -> ComparisonInfo:
    """Record the better answer of item ``index`` (left, right or tie) and update the stored win rate."""
    if choice not in PICKS:
        raise UserInputError(f"Unknown pick {choice!r}.", hint="Pick left, right or tie.")
    with session_scope() as s:
        row = owned_row(s, BlindComparison, comparison_id, "change", actor, kind="comparison",
                        not_found=_missing(comparison_id))  # fmt: skip
        items = [dict(i) for i in row.items or []]
        if not 0 <= index < len(items):
            raise UserInputError(f"The comparison has no item {index + 1}.", hint="Pick a listed one.")
        items[index]["pick"] = choice
        row.items = items
        _tally(row)
        s.flush()
        return _info(row)


def recent_briefs(limit: int = 10, *, actor: Actor | None = None) -> list[str]:
    """Distinct briefs (as text) of the newest ad copy generations the acting user may see."""
    from aigc_core.copy import history
    from aigc_core.feedback.dataset import _prompt

    out: list[str] = []
    for entry in history.list_history(limit=max(limit * 5, 50), actor=actor):
        prompt = _prompt(entry.brief)
        if prompt and prompt not in out:
            out.append(prompt)
        if len(out) >= limit:
            break
    return out


def comparison_choices(*, actor: Actor | None = None) -> dict[str, str]:
    """Models a comparison can use: each language-model version the acting user may see, and its base model
    (value -> label)."""
    from aigc_core.finetune import registry

    out: dict[str, str] = {}
    for v in registry.list_versions("text-generation", actor=actor):
        out[v.ref] = f"{v.name} ({v.id[:6]})"
        if v.meta.get("base_path"):
            out[f"{BASE_PREFIX}{v.id}"] = f"base model of {v.name} ({v.id[:6]})"
    return out
