"""Blind comparison: sides shuffled and hidden until every pick, win rate with a Wilson interval stored."""

from __future__ import annotations

import pytest

from aigc_core import feedback
from aigc_core.errors import NotFoundError, UserInputError
from aigc_core.users.roles import Actor


def test_wilson_interval_matches_the_formula() -> None:
    lo, hi = feedback.wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert feedback.wilson_interval(0, 0) == (0.0, 1.0)
    lo, hi = feedback.wilson_interval(0, 5)
    assert lo == 0.0 and hi == pytest.approx(0.4345, abs=1e-4)


def _answers(value: str, briefs: list[str]) -> list[str]:
    return [f"{value} says {b}" for b in briefs]


def test_blind_flow_stores_the_win_rate(store) -> None:
    briefs = [f"brief {i}" for i in range(6)]
    info = feedback.start_comparison("registry:A", "registry:B", briefs, seed=3, answer_fn=_answers)
    assert info.model_a == "hidden" and all(i.a_side is None for i in info.items)
    sides = {i.left.split()[0] for i in info.items}
    assert sides == {"registry:A", "registry:B"}  # both sides get each model at least once with this seed
    for n, item in enumerate(info.items):  # pick model A's answer on 5 briefs, a tie on the last
        side = "left" if item.left.startswith("registry:A") else "right"
        info = feedback.pick(info.id, n, "tie" if n == 5 else side)
    assert info.complete and info.model_a == "registry:A"
    assert (info.wins_a, info.wins_b, info.ties) == (5, 0, 1)
    lo, hi = feedback.wilson_interval(5, 5)
    assert info.win_rate_a == 1.0 and (info.ci_low, info.ci_high) == pytest.approx((lo, hi))
    stored = feedback.get_comparison(info.id)
    assert stored.win_rate_a == 1.0 and "A wins 5" in stored.summary()
    assert [c.id for c in feedback.list_comparisons()] == [info.id]


def test_comparison_input_and_ownership(store) -> None:
    with pytest.raises(UserInputError):
        feedback.start_comparison("registry:A", "registry:A", ["b"], answer_fn=_answers)
    with pytest.raises(UserInputError):
        feedback.start_comparison("registry:A", "registry:B", ["  "], answer_fn=_answers)
    bob, eve = Actor("bob", "editor"), Actor("eve", "editor")
    info = feedback.start_comparison("registry:A", "registry:B", ["b"], answer_fn=_answers, actor=bob)
    assert info.owner == "bob"
    with pytest.raises(NotFoundError):
        feedback.pick(info.id, 0, "left", actor=eve)
    with pytest.raises(UserInputError):
        feedback.pick(info.id, 0, "both", actor=bob)
    assert feedback.list_comparisons(actor=eve) == []
