"""The audit log: who did what, when, to which object; admins filter and export it."""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from aigc_core.store import AuditEvent, session_scope
from aigc_core.store.models import as_utc, utcnow
from aigc_core.users.roles import Actor, require

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditEntry:
    """One audit event as pages show it."""

    at: datetime
    actor: str
    action: str
    object_kind: str
    object_id: str
    allowed: bool
    detail: dict[str, Any] = field(default_factory=dict)


def record(
    actor: Actor | str,
    action: str,
    object_kind: str = "",
    object_id: str = "",
    *,
    detail: dict[str, Any] | None = None,
    allowed: bool = True,
) -> None:
    """Append one event; never raises (an audit failure is logged, the action is not undone)."""
    name = actor.name if isinstance(actor, Actor) else str(actor)
    try:
        with session_scope() as s:
            s.add(
                AuditEvent(
                    at=utcnow(),
                    actor=name[:200],
                    action=action[:64],
                    object_kind=object_kind[:32],
                    object_id=str(object_id)[:200],
                    allowed=allowed,
                    detail=dict(detail or {}),
                )
            )
    except Exception:  # pragma: no cover - the store is down: say so in the log, keep going
        log.exception("could not write the audit event %s by %s", action, name)


def list_events(
    *,
    actor: Actor | None = None,
    who: str = "",
    action: str = "",
    since: datetime | None = None,
    limit: int = 500,
) -> list[AuditEntry]:
    """Newest events first, filtered by user name, action (prefix) and time (admins only)."""
    require(actor, "admin", what="the audit log")
    q = select(AuditEvent).order_by(AuditEvent.at.desc()).limit(max(1, min(limit, 10_000)))
    if who:
        q = q.where(AuditEvent.actor == who)
    if action:
        q = q.where(AuditEvent.action.startswith(action))
    if since is not None:
        q = q.where(AuditEvent.at >= since)
    with session_scope() as s:
        rows = s.scalars(q).all()
        return [
            AuditEntry(
                as_utc(r.at) or r.at, r.actor, r.action, r.object_kind, r.object_id, r.allowed, dict(r.detail or {})
            )
            for r in rows
        ]


def export_csv(entries: list[AuditEntry]) -> bytes:
    """The entries as CSV (UTF-8), for the admin's download."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["at", "actor", "action", "object_kind", "object_id", "allowed", "detail"])
    for e in entries:
        w.writerow([e.at.isoformat(), e.actor, e.action, e.object_kind, e.object_id, e.allowed, e.detail])
    return buf.getvalue().encode("utf-8")
