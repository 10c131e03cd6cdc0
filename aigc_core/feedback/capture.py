"""Capture what marketers do with ad copy variants (used, 👍/👎, edits) and count it per brand kit and model."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from aigc_core.copy import history
from aigc_core.store import Generation, session_scope
from aigc_core.store.models import CopyFeedback, as_utc
from aigc_core.users.roles import Actor, current, visible_filter

NO_KIT = "(no brand kit)"


def give_feedback(
    generation_id: str, index: int, action: str, text: str = "", *, actor: Actor | None = None
) -> history.HistoryEntry:
    """Record ``action`` (used, unused, up, down, unrated, edit) on one variant; returns the updated entry."""
    return history.record_feedback(generation_id, index, action, text, actor=actor)


@dataclass
class FeedbackCounts:
    """Feedback on the variants of one brand kit and model version (current state, not the event log)."""

    brand_kit: str
    model: str
    model_revision: str
    generations: int = 0
    variants: int = 0
    used: int = 0
    thumbs_up: int = 0
    thumbs_down: int = 0
    edited: int = 0
    judged_generations: int = 0  # generations with at least one mark
    events: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A flat row for a table."""
        return dict(self.__dict__)


def feedback_counts(*, actor: Actor | None = None) -> list[FeedbackCounts]:
    """Counts per (brand kit, model, revision) over the ad copy generations the acting user may see."""
    who = current(actor)
    groups: dict[tuple[str, str, str], FeedbackCounts] = {}
    with session_scope() as s:
        q = select(Generation).where(
            Generation.kind == history.KIND, visible_filter(who, Generation.owner, Generation.shared)
        )
        gen_ids: dict[str, tuple[str, str, str]] = {}
        for row in s.scalars(q):
            kit = str(((row.meta or {}).get("brief") or {}).get("brand_kit") or "") or NO_KIT
            key = (kit, row.model or "", row.model_revision or "")
            c = groups.setdefault(key, FeedbackCounts(*key))
            gen_ids[row.id] = key
            c.generations += 1
            marked = False
            for v in row.outputs or []:
                c.variants += 1
                used, rating, edits = bool(v.get("used")), int(v.get("rating", 0)), len(v.get("versions") or [])
                c.used += used
                c.thumbs_up += rating == 1
                c.thumbs_down += rating == -1
                c.edited += edits > 0
                marked = marked or used or rating != 0 or edits > 0
            c.judged_generations += marked
        if gen_ids:
            for gid in s.scalars(select(CopyFeedback.generation_id).where(CopyFeedback.generation_id.in_(gen_ids))):
                groups[gen_ids[gid]].events += 1
    return sorted(groups.values(), key=lambda c: (c.brand_kit, c.model, c.model_revision))


@dataclass
class FeedbackEvent:
    """One stored feedback event."""

    id: str
    generation_id: str
    variant: int
    owner: str
    action: str
    text: str
    brand_kit: str
    model: str
    model_revision: str
    created_at: datetime | None
    meta: dict[str, Any] = field(default_factory=dict)


def list_feedback(
    generation_id: str | None = None, *, limit: int = 200, actor: Actor | None = None
) -> list[FeedbackEvent]:
    """Feedback events on generations the acting user may see, newest first."""
    who = current(actor)
    with session_scope() as s:
        q = (
            select(CopyFeedback)
            .join(Generation, Generation.id == CopyFeedback.generation_id)
            .where(visible_filter(who, Generation.owner, Generation.shared))
        )
        if generation_id:
            q = q.where(CopyFeedback.generation_id == generation_id)
        q = q.order_by(CopyFeedback.created_at.desc()).limit(limit)
        out = []
        for r in s.scalars(q):
            event = FeedbackEvent(
                r.id, r.generation_id, r.variant, r.owner, r.action, r.text, r.brand_kit, r.model,
                r.model_revision, as_utc(r.created_at), dict(r.meta or {}),
            )  # fmt: skip
            out.append(event)
        return out
