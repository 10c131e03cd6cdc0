"""Capture: used / 👍 / 👎 / edit per variant, stored with the brief, model and settings, owned by the user;
counts per brand kit and model version."""

from __future__ import annotations

import pytest

from aigc_core import feedback
from aigc_core.copy import history
from aigc_core.errors import NotFoundError, PermissionDeniedError, UserInputError
from aigc_core.users.roles import Actor

BOB = Actor("bob", "editor")
EVE = Actor("eve", "editor")
VERA = Actor("vera", "viewer")


def test_feedback_changes_the_variant_and_stores_an_event(add_generation) -> None:
    gid = add_generation("coffee", ["first copy", "second copy", "third copy"], kit="Acme", owner="bob")
    feedback.give_feedback(gid, 0, "used", actor=BOB)
    feedback.give_feedback(gid, 1, "down", actor=BOB)
    entry = feedback.give_feedback(gid, 2, "edit", "third copy, better", actor=BOB)
    v0, v1, v2 = entry.variants
    assert v0["used"] is True and v1["rating"] == -1
    assert v2["text"] == "third copy"  # the generated text stays as version 1
    assert v2["versions"][0]["text"] == "third copy, better" and v2["versions"][0]["version"] == 2
    assert history.latest_text(v2) == "third copy, better"
    events = feedback.list_feedback(gid, actor=BOB)
    assert {e.action for e in events} == {"used", "down", "edit"}
    edit = next(e for e in events if e.action == "edit")
    assert (edit.owner, edit.brand_kit, edit.model, edit.model_revision) == ("bob", "Acme", "tiny-lm", "r1")
    assert edit.meta["brief"]["product"] == "coffee" and edit.meta["params"]["temperature"] == 0.8
    assert edit.text == "third copy, better"


def test_marks_toggle_and_bad_input_is_refused(add_generation) -> None:
    gid = add_generation("coffee", ["a", "b"])
    feedback.give_feedback(gid, 0, "up")
    entry = feedback.give_feedback(gid, 0, "unrated")
    assert entry.variants[0]["rating"] == 0
    entry = feedback.give_feedback(gid, 1, "used")
    entry = feedback.give_feedback(gid, 1, "unused")
    assert entry.variants[1]["used"] is False
    with pytest.raises(UserInputError):
        feedback.give_feedback(gid, 0, "love")
    with pytest.raises(UserInputError):
        feedback.give_feedback(gid, 5, "up")
    with pytest.raises(UserInputError):
        feedback.give_feedback(gid, 0, "edit", "   ")
    with pytest.raises(UserInputError, match="same as the current copy"):
        feedback.give_feedback(gid, 0, "edit", "a")


def test_only_the_owner_gives_feedback_on_a_generation(add_generation) -> None:
    gid = add_generation("coffee", ["a", "b"], owner="bob")
    with pytest.raises(NotFoundError):  # another's private generation does not exist for eve
        feedback.give_feedback(gid, 0, "up", actor=EVE)
    assert feedback.list_feedback(gid, actor=EVE) == []
    feedback.give_feedback(gid, 0, "up", actor=BOB)
    history.set_shared(gid, True, actor=BOB)
    for who in (EVE, VERA):  # shared: visible, but feedback changes the owner's generation
        with pytest.raises(PermissionDeniedError):
            feedback.give_feedback(gid, 1, "up", actor=who)
    assert [e.owner for e in feedback.list_feedback(gid, actor=EVE)] == ["bob"]


def test_counts_per_brand_kit_and_model_version(add_generation) -> None:
    g1 = add_generation("coffee", ["a", "b", "c"], kit="Acme", model="m", revision="v1")
    g2 = add_generation("shoes", ["d", "e"], kit="Acme", model="m", revision="v2")
    add_generation("phone", ["f"], kit="", model="m", revision="v1")
    feedback.give_feedback(g1, 0, "used")
    feedback.give_feedback(g1, 0, "up")
    feedback.give_feedback(g1, 1, "down")
    feedback.give_feedback(g2, 1, "edit", "e, edited")
    rows = {(c.brand_kit, c.model_revision): c for c in feedback.feedback_counts()}
    acme1, acme2, none1 = rows[("Acme", "v1")], rows[("Acme", "v2")], rows[("(no brand kit)", "v1")]
    assert (acme1.generations, acme1.variants, acme1.used, acme1.thumbs_up, acme1.thumbs_down) == (1, 3, 1, 1, 1)
    assert (acme1.events, acme1.judged_generations) == (3, 1)
    assert (acme2.edited, acme2.events) == (1, 1)
    assert (none1.variants, none1.events, none1.judged_generations) == (1, 0, 0)
