"""Brand kits are the team's: everyone reads and uses every kit, editors and admins create them, only a kit's owner
or an admin changes or deletes it (audited). The Ad copy page shows each user what they may do, and offers a
free-text model only to admins."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aigc_core.copy import guardrails
from aigc_core.copy.guardrails import can_change_kit, delete_kit, get_kit, kit_names, list_kits, save_kit
from aigc_core.errors import PermissionDeniedError
from aigc_core.images.brand import banned_words
from aigc_core.users import audit
from aigc_core.users.roles import SYSTEM, Actor, set_process_actor

ADMIN, EDITOR, VIEWER = Actor("alice", "admin"), Actor("bob", "editor"), Actor("vera", "viewer")
OTHER = Actor("erin", "editor")
PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "ad_copy.py")


@pytest.fixture()
def kits(settings) -> dict[str, guardrails.Kit]:
    """alice's kit and bob's kit."""
    return {
        "alice": save_kit("Acme", voice="Warm", banned=["cure"], actor=ADMIN),
        "bob": save_kit("Bobco", voice="Bold", banned=["free"], actor=EDITOR),
    }


def test_create_sets_the_owner_and_needs_the_create_right(kits) -> None:
    assert kits["alice"].owner == "alice" and kits["bob"].owner == "bob"
    assert get_kit("Bobco").owner == "bob"
    with pytest.raises(PermissionDeniedError, match="may look but not start work"):
        save_kit("Viewer kit", actor=VIEWER)
    assert [k.name for k in list_kits()] == ["Acme", "Bobco"]


def test_every_kit_is_read_and_used_by_everyone(kits) -> None:
    assert [k.name for k in list_kits()] == ["Acme", "Bobco"]  # no actor filter: the team's kits
    assert get_kit(kits["alice"].id).banned == ["cure"]
    assert kit_names() == ["Acme", "Bobco"]  # every page's kit picker
    assert banned_words("Acme") == ["cure"]


def test_only_the_owner_or_an_admin_changes_a_kit(kits) -> None:
    alice, bob = kits["alice"], kits["bob"]
    with pytest.raises(PermissionDeniedError, match="only its owner or an admin"):
        save_kit("Acme", voice="Hijacked", actor=EDITOR)  # by name
    with pytest.raises(PermissionDeniedError, match="only its owner or an admin"):
        save_kit("Renamed", voice="Hijacked", kit_id=alice.id, actor=EDITOR)  # by id
    with pytest.raises(PermissionDeniedError):
        save_kit("Bobco", voice="Quiet", actor=VIEWER)
    with pytest.raises(PermissionDeniedError):
        save_kit("Bobco", voice="Quiet", actor=OTHER)
    assert get_kit(alice.id).voice == "Warm" and get_kit(alice.id).name == "Acme"
    assert save_kit("Bobco", voice="Bolder", actor=EDITOR).voice == "Bolder"  # the owner
    assert save_kit("Bobco", voice="Boldest", kit_id=bob.id, actor=ADMIN).voice == "Boldest"  # an admin
    assert get_kit(bob.id).owner == "bob"  # an admin's edit does not take the kit over
    assert can_change_kit(get_kit(bob.id), actor=EDITOR) and can_change_kit(get_kit(bob.id), actor=ADMIN)
    assert not can_change_kit(get_kit(bob.id), actor=OTHER) and not can_change_kit(get_kit(bob.id), actor=VIEWER)
    denied = audit.list_events(actor=ADMIN, action="denied:change")
    assert {e.actor for e in denied} >= {"bob", "vera", "erin"}


def test_only_the_owner_or_an_admin_deletes_a_kit_and_it_is_audited(kits) -> None:
    alice, bob = kits["alice"], kits["bob"]
    for who in (EDITOR, VIEWER):
        with pytest.raises(PermissionDeniedError, match="only its owner or an admin"):
            delete_kit(alice.id, actor=who)
    with pytest.raises(PermissionDeniedError):
        delete_kit("Bobco", actor=OTHER)
    assert len(list_kits()) == 2
    delete_kit("Bobco", actor=EDITOR)
    delete_kit(alice.id, actor=ADMIN)
    assert list_kits() == []
    deleted = audit.list_events(actor=ADMIN, action="brand_kit.delete")
    assert {(e.actor, e.object_id) for e in deleted} == {("bob", bob.id), ("alice", alice.id)}


def test_kits_made_before_sign_in_are_for_admins_to_change(settings) -> None:
    from aigc_core.store import BrandKit, session_scope

    with session_scope() as s:
        s.add(BrandKit(name="Legacy"))
    assert get_kit("Legacy").owner == ""
    with pytest.raises(PermissionDeniedError):
        save_kit("Legacy", voice="x", actor=EDITOR)
    assert save_kit("Legacy", voice="x", actor=ADMIN).voice == "x"


# The Ad copy page ---------------------------------------------------------------------------------------------
@pytest.fixture()
def page_env(tiny_lm_dir: Path, settings, monkeypatch) -> None:
    from aigc_core.copy import lm, ranking
    from aigc_core.settings import reset_settings

    monkeypatch.setenv("AIGC_TEXT_GENERATION_MODEL", str(tiny_lm_dir))
    reset_settings()
    lm.clear_cache()
    monkeypatch.setattr(ranking, "default_sentiment", lambda texts: [0.8] * len(texts))
    yield
    lm.clear_cache()


def _page_as(actor: Actor) -> AppTest:
    set_process_actor(actor)  # the page runs as this user (the app: the session's signed-in user)
    try:
        at = AppTest.from_file(PAGE, default_timeout=120).run()
    finally:
        set_process_actor(SYSTEM)
    assert not at.exception, at.exception
    return at


def test_a_viewer_reads_kits_but_creates_and_changes_none(page_env, kits) -> None:
    at = _page_as(VIEWER)
    picker = at.selectbox(key="copy_kit_edit")
    assert picker.options == ["Acme", "Bobco"]  # no "(new kit)"
    assert at.text_area(key=f"copy_kit_voice_{kits['alice'].id}").disabled
    assert not [b for b in at.button if b.key in ("copy_kit_save", "copy_kit_delete")]
    assert at.selectbox(key="copy_kit").options == ["(no brand kit)", "Acme", "Bobco"]  # every kit to use


def test_an_editor_changes_their_own_kit_only(page_env, kits) -> None:
    at = _page_as(EDITOR)
    assert at.selectbox(key="copy_kit_edit").options == ["(new kit)", "Acme", "Bobco"]
    at.selectbox(key="copy_kit_edit").select("Acme")
    set_process_actor(EDITOR)
    try:
        at.run()
        assert at.text_area(key=f"copy_kit_voice_{kits['alice'].id}").disabled
        assert not [b for b in at.button if b.key == "copy_kit_save"]
        at.selectbox(key="copy_kit_edit").select("Bobco").run()
        at.text_area(key=f"copy_kit_voice_{kits['bob'].id}").input("Louder").run()
        at.button(key="copy_kit_save").click().run()
    finally:
        set_process_actor(SYSTEM)
    assert not at.exception, at.exception
    assert get_kit("Bobco").voice == "Louder"


def test_the_model_picker_offers_a_free_text_model_to_admins_only(page_env, kits, tiny_lm_dir: Path) -> None:
    import shutil

    from aigc_core.finetune import registry

    def version(name: str, actor: Actor) -> str:
        vid, target = registry.new_version_dir()
        shutil.copytree(tiny_lm_dir, target)
        registry.register_version(
            version_id=vid, path=target, task="text-generation", name=name, base_model="tiny", params={},
            metrics={}, actor=actor,
        )  # fmt: skip
        return f"registry:{vid}"

    mine, theirs = version("bob's voice", EDITOR), version("alice's voice", ADMIN)
    editor = _page_as(EDITOR)
    choices = editor.radio(key="copy_model_choice").options
    assert "Hub id, folder or registry:<id>" not in choices
    assert "A fine-tuned version (registry)" in choices
    assert not [t for t in editor.text_input if t.key == "copy_model_text"]
    set_process_actor(EDITOR)
    try:
        editor.radio(key="copy_model_choice").set_value("version").run()
    finally:
        set_process_actor(SYSTEM)
    assert not editor.exception, editor.exception
    picked = editor.selectbox(key="copy_model_version")
    assert picked.options == ["bob's voice (" + mine.split(":")[1] + ")"] and theirs not in str(picked.options)
    assert picked.value == mine
    admin = _page_as(ADMIN)
    assert "Hub id, folder or registry:<id>" in admin.radio(key="copy_model_choice").options
