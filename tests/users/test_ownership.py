"""The roles matrix, cell by cell, and every owner-checked engine function called as the wrong user."""

from __future__ import annotations

import pytest

from aigc_core import jobs
from aigc_core.copy import history
from aigc_core.errors import NotFoundError, NotSignedInError, PermissionDeniedError
from aigc_core.images import gallery
from aigc_core.store import Generation, session_scope
from aigc_core.users import audit
from aigc_core.users.roles import SYSTEM, Actor, acting_as, allowed, current, set_process_actor

ADMIN, EDITOR, VIEWER = Actor("alice", "admin"), Actor("bob", "editor"), Actor("vera", "viewer")

# (role, action, whose item, shared) -> allowed; "own" = the actor's, "other" = someone else's, None = no item
MATRIX = {
    ("admin", "read", "other", False): True,
    ("editor", "read", "other", False): False,
    ("viewer", "read", "other", False): False,
    ("admin", "read", "other", True): True,
    ("editor", "read", "other", True): True,
    ("viewer", "read", "other", True): True,
    ("editor", "read", "own", False): True,
    ("viewer", "read", "own", False): True,
    ("admin", "create", None, False): True,
    ("editor", "create", None, False): True,
    ("viewer", "create", None, False): False,
    ("admin", "change", "other", False): True,
    ("editor", "change", "own", False): True,
    ("editor", "change", "other", False): False,
    ("editor", "change", "other", True): False,  # shared is read-only for others
    ("viewer", "change", "own", False): False,
    ("viewer", "change", "other", True): False,
    ("admin", "share", "other", False): True,
    ("editor", "share", "own", False): True,
    ("editor", "share", "other", True): False,
    ("viewer", "share", "own", False): False,
    ("admin", "admin", None, False): True,
    ("editor", "admin", None, False): False,
    ("viewer", "admin", None, False): False,
}


@pytest.mark.parametrize(("cell", "expected"), list(MATRIX.items()), ids=[str(k) for k in MATRIX])
def test_roles_matrix(cell: tuple, expected: bool) -> None:
    role, action, whose, shared = cell
    actor = Actor("me", role)
    owner = None if whose is None else ("me" if whose == "own" else "someone-else")
    assert allowed(actor, action, owner=owner, shared=shared) is expected


def test_nobody_signed_in_fails_closed() -> None:
    set_process_actor(None)
    try:
        with pytest.raises(NotSignedInError):
            current()
        with pytest.raises(NotSignedInError):
            jobs.list_jobs()
    finally:
        set_process_actor(SYSTEM)


def test_jobs_are_private_to_their_owner(team) -> None:
    a_job = jobs.submit("demo.count", {"steps": 3}, actor=team["alice"])
    b_job = jobs.submit("demo.count", {"steps": 3}, actor=EDITOR)
    assert jobs.get(b_job, actor=EDITOR).owner == "bob"
    # bob sees only his own, in lists, counts and the sidebar summary
    assert [j.id for j in jobs.list_jobs(actor=EDITOR)] == [b_job]
    assert jobs.count_by_status(actor=EDITOR) == {"queued": 1}
    assert jobs.active_summary(actor=EDITOR)[1] == 1
    assert jobs.kind_names(actor=VIEWER) == []
    # and cannot read, tail, cancel or resume alice's: it reads as unknown
    for call in (jobs.get, jobs.log_tail, jobs.cancel, jobs.resume):
        with pytest.raises(NotFoundError):
            call(a_job, actor=EDITOR)
    assert jobs.get(a_job, actor=ADMIN).status == "queued"  # nothing changed
    # a viewer cannot start work
    with pytest.raises(PermissionDeniedError, match="may look but not start work"):
        jobs.submit("demo.count", {"steps": 3}, actor=VIEWER)
    # shared: bob may read it, still not cancel it
    jobs.set_shared(a_job, actor=team["alice"])
    assert jobs.get(a_job, actor=EDITOR).shared
    with pytest.raises(PermissionDeniedError, match="belongs to alice"):
        jobs.cancel(a_job, actor=EDITOR)
    with pytest.raises(PermissionDeniedError):
        jobs.set_shared(a_job, False, actor=EDITOR)
    # the admin may cancel anyone's; the audit log has each attempt
    assert jobs.cancel(b_job, actor=ADMIN).status == "cancelled"
    events = audit.list_events(actor=ADMIN)
    denied = [e for e in events if not e.allowed and e.object_id == a_job]
    assert {e.action for e in denied} >= {"denied:read", "denied:change"}
    assert any(e.action == "job.cancel" and e.actor == "alice" and e.object_id == b_job for e in events)


def test_resume_keeps_the_owner(team) -> None:
    job = jobs.submit("demo.count", {"steps": 3}, actor=EDITOR)
    jobs.cancel(job, actor=EDITOR)
    new = jobs.resume(job, actor=ADMIN)
    assert jobs.get(new, actor=EDITOR).owner == "bob"


def _copy_generation(owner: str, shared: bool = False) -> str:
    with session_scope() as s:
        row = Generation(kind="copy", owner=owner, shared=shared, prompt=f"brief of {owner}", outputs=[{"text": "x"}])
        s.add(row)
        s.flush()
        return row.id


def test_copy_history_is_private_until_shared(team) -> None:
    mine, theirs = _copy_generation("bob"), _copy_generation("alice")
    assert [e.id for e in history.list_history(actor=EDITOR)] == [mine]
    assert {e.id for e in history.list_history(actor=ADMIN)} == {mine, theirs}
    for call in (
        lambda: history.get_entry(theirs, actor=EDITOR),
        lambda: history.rate(theirs, 0, 1, actor=EDITOR),
        lambda: history.set_favourite(theirs, 0, actor=EDITOR),
        lambda: history.set_shared(theirs, actor=EDITOR),
    ):
        with pytest.raises(NotFoundError):
            call()
    history.set_shared(theirs, actor=ADMIN)
    assert history.get_entry(theirs, actor=VIEWER).shared
    with pytest.raises(PermissionDeniedError):
        history.rate(theirs, 0, 1, actor=EDITOR)  # visible, not theirs to change
    assert history.rate(mine, 0, 1, actor=EDITOR).variants[0]["rating"] == 1
    assert history.favourites(actor=VIEWER) == []


def _image(owner: str, tmp_path) -> str:
    with session_scope() as s:
        path = tmp_path / f"{owner}.png"
        path.write_bytes(b"png")
        row = Generation(kind="image", owner=owner, prompt=f"image of {owner}", path=str(path), params={})
        s.add(row)
        s.flush()
        return row.id


def test_gallery_is_private_and_delete_is_all_or_nothing(team, tmp_path) -> None:
    mine, theirs = _image("bob", tmp_path), _image("alice", tmp_path)
    assert [i.id for i in gallery.list_images(actor=EDITOR)] == [mine]
    for call in (
        lambda: gallery.get_image(theirs, actor=EDITOR),
        lambda: gallery.set_favourite(theirs, actor=EDITOR),
        lambda: gallery.zip_images([theirs], actor=EDITOR),
        lambda: gallery.delete_images([mine, theirs], actor=EDITOR),
    ):
        with pytest.raises(NotFoundError):
            call()
    assert {i.id for i in gallery.list_images(actor=ADMIN)} == {mine, theirs}  # nothing was deleted
    assert gallery.delete_images([mine], actor=EDITOR) == 1
    assert gallery.delete_images([theirs], actor=ADMIN) == 1


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, format="PNG")
    return buf.getvalue()


def test_saving_work_records_the_acting_user_as_owner(team, tmp_path) -> None:
    with acting_as(EDITOR):
        gid, _ = gallery.save_png(_png(), {"prompt": "p", "width": 8, "height": 8})
    assert gallery.get_image(gid, actor=EDITOR).owner == "bob"
    with pytest.raises(PermissionDeniedError):
        gallery.save_png(_png(), {"prompt": "p"}, actor=VIEWER)
