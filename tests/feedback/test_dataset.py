"""Preference pairs from feedback (the rule), the split by brief and the minimum data checks."""

from __future__ import annotations

import pytest

from aigc_core import data as data_api
from aigc_core import feedback
from aigc_core.copy import history
from aigc_core.feedback.dataset import PreferencePair, brief_key, entry_pairs

from .conftest import BAD, GOOD, PRODUCTS


def test_pairs_follow_the_rule(add_generation) -> None:
    gid = add_generation("coffee", ["used one", "liked one", "disliked one", "left unused"])
    feedback.give_feedback(gid, 0, "used")
    feedback.give_feedback(gid, 1, "up")
    feedback.give_feedback(gid, 2, "down")
    feedback.give_feedback(gid, 2, "edit", "disliked one, fixed")
    pairs = entry_pairs(history.get_entry(gid))
    choice = {(p.chosen, p.rejected) for p in pairs if p.source == "choice"}
    assert choice == {
        ("used one", "disliked one"), ("used one", "left unused"),
        ("liked one", "disliked one"), ("liked one", "left unused"),
    }  # fmt: skip
    assert [(p.chosen, p.rejected) for p in pairs if p.source == "edit"] == [("disliked one, fixed", "disliked one")]
    assert len({p.brief_key for p in pairs}) == 1 and "Product: coffee" in pairs[0].prompt


def test_unused_is_not_rejected_until_something_was_used(add_generation) -> None:
    gid = add_generation("coffee", ["liked", "untouched"])
    feedback.give_feedback(gid, 0, "up")
    assert entry_pairs(history.get_entry(gid)) == []  # a 👍 alone says nothing about the untouched variant
    feedback.give_feedback(gid, 0, "used")
    assert [(p.chosen, p.rejected) for p in entry_pairs(history.get_entry(gid))] == [("liked", "untouched")]


def _pair(brief: str, i: int, gen: str = "") -> PreferencePair:
    return PreferencePair(f"Product: {brief}", f"good {i}", f"bad {i}", brief_key(f"Product: {brief}"), "choice", gen)


def test_split_keeps_each_brief_on_one_side() -> None:
    pairs = [_pair(f"p{b}", i, gen=f"g{b}-{i % 2}") for b in range(10) for i in range(3)]
    train, test = feedback.split_by_brief(pairs, test_share=0.2, seed=1)
    assert len(train) + len(test) == 30 and len(test) == 6
    assert not {p.brief_key for p in train} & {p.brief_key for p in test}
    assert feedback.split_by_brief(pairs, test_share=0.2, seed=1) == (train, test)  # deterministic
    check = feedback.check_preferences(train, test, min_train_pairs=10, min_test_pairs=2)
    assert check.ok and check.duplicate_briefs == 10 and "generated more than once" in check.notes[0]


def test_checks_say_what_is_missing() -> None:
    train = [_pair("a", i) for i in range(3)]
    test = [_pair("a", 9)]
    check = feedback.check_preferences(train, test)
    text = " ".join(check.problems)
    assert "3 training pair(s); at least 20" in text
    assert "1 held-out pair(s); at least 4" in text
    assert "1 distinct brief(s); at least 5" in text
    assert "leakage" in text and check.leaked_briefs == 1
    with pytest.raises(feedback.PreferenceDataError, match="not ready for training") as err:
        feedback.check_preferences(train, test, raise_on_problems=True)
    assert err.value.hint and "Ad copy" in err.value.hint


def test_one_brief_may_not_dominate_and_identical_pairs_are_dropped() -> None:
    train = [_pair("big", i) for i in range(8)] + [_pair(f"s{i}", i) for i in range(4)]
    same = PreferencePair("Product: x", "same", "same", brief_key("Product: x"), "choice")
    test = [_pair(f"t{i}", i) for i in range(4)] + [same]
    check = feedback.check_preferences(train, test, min_train_pairs=5)
    assert any("One brief holds 8 of the 12" in p for p in check.problems)
    assert check.dropped_identical == 1 and check.n_test == 4


def test_build_saves_a_split_version(add_generation) -> None:
    for n, product in enumerate(PRODUCTS):
        gid = add_generation(product, [GOOD[n % 3], BAD[n % 2], f"{product} plain copy"])
        feedback.give_feedback(gid, 0, "used")
        feedback.give_feedback(gid, 1, "down")
    with pytest.raises(feedback.PreferenceDataError):
        feedback.build_preference_dataset()  # 16 pairs from 8 briefs: too few at the default minimum
    version_id, check = feedback.build_preference_dataset(min_train_pairs=8, min_test_pairs=2)
    train, test = data_api.load_version(version_id, "train"), data_api.load_version(version_id, "test")
    assert len(train) + len(test) == 16 and len(test) >= 2 and check.ok
    assert set(train["brief_key"]).isdisjoint(set(test["brief_key"]))
    assert {"prompt", "chosen", "rejected", "source", "generation_id"} <= set(train.columns)
    info = data_api.get_version(version_id)
    assert info.meta["preference"] is True and info.row_counts["train"] == len(train)
