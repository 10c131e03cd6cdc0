"""Roles, the acting user and the one permission rule every engine function applies.

The matrix (docs/teams.md prints it; a test checks every cell):

============================  =====  ======  ======
action                        admin  editor  viewer
============================  =====  ======  ======
read own or shared items      yes    yes     yes
read another's private item   yes    no      no
create (upload, generate …)   yes    yes     no
change or delete own item     yes    yes     no
change another's item         yes    no      no
share own item with the team  yes    yes     no
admin actions (users, model
sources, settings, watched
folders, promote, audit log)  yes    no      no
============================  =====  ======  ======
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from aigc_core.errors import NotSignedInError, PermissionDeniedError

Role = Literal["admin", "editor", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "editor", "viewer")
Action = Literal["read", "create", "change", "share", "admin"]
ACTIONS: tuple[Action, ...] = ("read", "create", "change", "share", "admin")
ADMIN_ACTIONS = ("users", "model_source", "settings", "watch_folder", "promote", "audit", "webhook_hosts")


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, the worker acting for a job's owner, or the system itself."""

    name: str
    role: Role

    @property
    def is_admin(self) -> bool:
        """Admins see and change everything."""
        return self.role == "admin"

    @property
    def can_create(self) -> bool:
        """Editors and admins start work; viewers only read."""
        return self.role in ("admin", "editor")


SYSTEM = Actor("system", "admin")  # the worker's own housekeeping and the CLI run by the server's operator
LOCAL = Actor("local", "admin")  # everyone, when sign-in is off on a one-person machine

_current: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("aigc_actor", default=None)


def set_current(actor: Actor | None) -> contextvars.Token[Actor | None]:
    """Make ``actor`` the acting user of this thread's work (the page frame does it on every run)."""
    return _current.set(actor)


@contextlib.contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Run a block as ``actor`` (CLI, worker, tests)."""
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


_process_default: Actor | None = None
_provider: Callable[[], Actor | None] | None = None


def set_actor_provider(fn: Callable[[], Actor | None] | None) -> None:
    """Where the acting user comes from when none is passed or set in this context (the app: the browser
    session's signed-in user, so fragment reruns and threads of one session agree)."""
    global _provider
    _provider = fn


def set_process_actor(actor: Actor | None) -> None:
    """The acting user of every thread of this process that sets none (the worker: SYSTEM; a job's process: its
    owner). The app never sets one, so a page run without a signed-in user fails closed."""
    global _process_default
    _process_default = actor


def current(actor: Actor | None = None) -> Actor:
    """``actor`` if given, else the acting user of this context; raises when nobody is signed in."""
    got = actor or _current.get() or (_provider() if _provider is not None else None) or _process_default
    if got is None:
        raise NotSignedInError("Nobody is signed in.", hint="Sign in first.")
    return got


def allowed(actor: Actor, action: Action, *, owner: str | None = None, shared: bool = False) -> bool:
    """The one rule: may ``actor`` do ``action`` on an item of ``owner`` (None: no item, e.g. create)?"""
    if actor.is_admin:
        return True
    if action == "admin":
        return False
    mine = owner is not None and owner == actor.name
    if action == "read":
        return mine or shared or owner is None
    if action == "create":
        return actor.can_create
    # change, share: only your own, and only with a role that changes things
    return actor.can_create and mine


def require(
    actor: Actor | None,
    action: Action,
    *,
    owner: str | None = None,
    shared: bool = False,
    what: str = "this",
    kind: str = "",
    item_id: str = "",
) -> Actor:
    """The acting user, when the rule allows ``action``; else :class:`PermissionDeniedError` (audited with the
    item's ``kind`` and ``item_id``, or ``what``)."""
    who = current(actor)
    if allowed(who, action, owner=owner, shared=shared):
        return who
    from aigc_core.users.audit import record

    record(who, f"denied:{action}", kind, item_id or what, detail={"owner": owner or ""}, allowed=False)
    if action == "admin":
        raise PermissionDeniedError(f"Only an admin may do this ({what}).", hint="Ask an admin of this studio.")
    if action == "create":
        raise PermissionDeniedError(
            f"Your role ({who.role}) may look but not start work ({what}).", hint="Ask an admin for the editor role."
        )
    if action == "read":
        raise PermissionDeniedError(f"{what} is private to another user.", hint="Ask its owner to share it.")
    raise PermissionDeniedError(
        f"{what} belongs to {owner or 'nobody yet'}; only its owner or an admin may change it.",
        hint="Ask its owner or an admin.",
    )


def visible_filter(actor: Actor, owner_col, shared_col=None):  # noqa: ANN001, ANN201 - SQLAlchemy columns
    """A WHERE clause for lists: everything for admins, else own items and shared ones."""
    from sqlalchemy import or_, true

    if actor.is_admin:
        return true()
    if shared_col is None:
        return owner_col == actor.name
    return or_(owner_col == actor.name, shared_col.is_(True))


def check_item(
    actor: Actor | None,
    action: Action,
    *,
    owner: str,
    shared: bool,
    kind: str,
    item_id: str,
    not_found: Exception,
) -> Actor:
    """The acting user, when they may ``action`` this item; another's private item raises ``not_found`` (its
    existence is not told), a visible one they may not change raises PermissionDeniedError. Both are audited."""
    who = current(actor)
    if not allowed(who, "read", owner=owner, shared=shared):
        from aigc_core.users.audit import record

        record(who, f"denied:{action}", kind, item_id, detail={"owner": owner}, allowed=False)
        raise not_found
    if action != "read":
        require(who, action, owner=owner, shared=shared, what=f"{kind} {item_id}", kind=kind, item_id=item_id)
    return who


def owned_row(
    session: Any,
    table: type,
    item_id: str,
    action: Action,
    actor: Actor | None,
    *,
    kind: str,
    not_found: Exception,
    where: Callable[[Any], bool] | None = None,
) -> Any:
    """The ``table`` row ``item_id`` (with ``owner`` and optionally ``shared`` columns), when it exists, passes
    ``where`` and the acting user may ``action`` it; ``not_found`` otherwise (see :func:`check_item`)."""
    row = session.get(table, item_id)
    if row is None or (where is not None and not where(row)):
        raise not_found
    check_item(
        actor,
        action,
        owner=row.owner or "",
        shared=bool(getattr(row, "shared", False)),
        kind=kind,
        item_id=item_id,
        not_found=not_found,
    )
    return row


def share_row(
    table: type,
    item_id: str,
    shared: bool,
    actor: Actor | None,
    *,
    kind: str,
    not_found: Exception,
    to_info: Callable[[Any], Any],
    where: Callable[[Any], bool] | None = None,
) -> Any:
    """Share an owned item with the team (or make it private again) when the acting user may (its owner or an
    admin); audited as ``<kind>.share`` / ``<kind>.unshare``; returns ``to_info(row)``."""
    from aigc_core.store import session_scope
    from aigc_core.users.audit import record

    with session_scope() as s:
        row = owned_row(s, table, item_id, "share", actor, kind=kind, not_found=not_found, where=where)
        row.shared = bool(shared)
        s.flush()
        info = to_info(row)
    record(current(actor), f"{kind}.share" if shared else f"{kind}.unshare", kind, item_id)
    return info
