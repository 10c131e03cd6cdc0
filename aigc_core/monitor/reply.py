"""Close the loop: from an alert, a brief for the Ad copy generator to draft a reply.

The brief holds the Ad copy page's fields (product, key points, audience, channel, tone, brand kit …);
the page is opened with it as ``st.session_state["ad_copy_prefill"]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from aigc_core.errors import NotFoundError, UserInputError
from aigc_core.monitor import alerts as alerts_mod
from aigc_core.store import BrandKit, session_scope

REPLY_KINDS: dict[str, str] = {
    "customer_service": "Customer-service answer",
    "holding_statement": "Holding statement",
}
PREFILL_KEY = "ad_copy_prefill"
MAX_QUOTE_CHARS = 240


@dataclass
class ReplyDraft:
    """The brief for the Ad copy page plus what it was built from."""

    kind: str
    prefill: dict[str, Any]
    quotes: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)


def _kit(name: str | None) -> dict[str, Any] | None:
    if not name:
        return None
    with session_scope() as s:
        row = s.get(BrandKit, name) or s.scalars(select(BrandKit).where(BrandKit.name == name)).first()
        if row is None:
            raise NotFoundError(f"There is no brand kit {name!r}.", hint="Pick one from the list or create it.")
        return {"name": row.name, "voice": row.voice or ""}


def _top_texts(alert: alerts_mod.AlertInfo, n: int) -> list[str]:
    quotes = [str(e.get("text", "")) for e in alert.evidence.get("examples", []) if e.get("text")]
    if len(quotes) < n and alert.window_start is not None and alert.window_end is not None:
        from aigc_core.monitor.aggregate import Filters
        from aigc_core.monitor.monitors import monitor_data

        topic = alert.topic
        data = monitor_data(alert.monitor_id)
        rows = data.drill_down(
            Filters(topics=(topic,) if topic else (), labels=("negative",)),
            alert.window_start,
            alert.window_end,
            limit=n,
        )
        quotes = [str(t) for t in rows["text"].tolist()] or quotes
    seen: set[str] = set()
    out = []
    for q in quotes:
        q = " ".join(q.split())
        if q and q.lower() not in seen:
            seen.add(q.lower())
            out.append(q if len(q) <= MAX_QUOTE_CHARS else q[: MAX_QUOTE_CHARS - 1] + "…")
    return out[:n]


def _window_terms(alert: alerts_mod.AlertInfo, n: int) -> list[str]:
    if alert.window_start is None or alert.window_end is None:
        return []
    try:
        from aigc_core.monitor.aggregate import Filters
        from aigc_core.monitor.monitors import monitor_data
        from aigc_core.monitor.terms import complaint_terms

        topic = alert.topic
        terms, _ = complaint_terms(
            monitor_data(alert.monitor_id),
            Filters(topics=(topic,) if topic else ()),
            alert.window_start,
            alert.window_end,
            top=n,
        )
        return [t.term for t in terms]
    except Exception:  # the brief is still useful without the terms
        return []


def build_reply_brief(
    alert_id: str,
    *,
    kind: str = "customer_service",
    brand_kit: str | None = None,
    product: str = "",
    n_quotes: int = 5,
    language: str = "en",
) -> ReplyDraft:
    """A brief for a customer-service answer or a holding statement about an alert's spike."""
    if kind not in REPLY_KINDS:
        raise UserInputError(f"Unknown reply kind {kind!r}.", hint=f"Use one of {', '.join(REPLY_KINDS)}.")
    alert = alerts_mod.get_alert(alert_id)
    kit = _kit(brand_kit)
    quotes = _top_texts(alert, n_quotes)
    terms = _window_terms(alert, 6)
    subject = ", ".join(terms[:4]) if terms else (alert.topic or "recent posts")
    brand = product.strip() or (kit["name"] if kit else "") or str(alert.evidence.get("monitor", "")) or "our brand"
    ev = alert.evidence
    window = (
        f"{alert.window_start:%Y-%m-%d %H:%M} – {alert.window_end:%Y-%m-%d %H:%M} UTC" if alert.window_start else ""
    )
    if kind == "customer_service":
        points = [
            f"Answer customers who are upset about: {subject}",
            "Acknowledge the problem in plain words and apologise sincerely",
            "Say what happens next (we are looking into it) without promising refunds or timelines",
            "Invite them to send a direct message or contact support so we can help personally",
        ]
        tone_text = "empathetic, human, calm; no marketing language, no blame"
        audience = "Customers who posted complaints" + (f" about {alert.topic}" if alert.topic else "")
    else:
        points = [
            f"We are aware of reports about: {subject}",
            "We are looking into it and will share an update as soon as we know more",
            "Thank customers for their patience; do not speculate about causes",
        ]
        tone_text = "calm, factual, reassuring holding statement; no speculation, no promises"
        audience = "The public and customers following the issue"
    if quotes:
        points.append("What customers wrote (do not quote them back verbatim):")
        points.extend(f'- "{q}"' for q in quotes)
    prefill: dict[str, Any] = {
        "product": brand[:300],
        "key_points": "\n".join(points),
        "audience": audience,
        "channel": "social_post",
        "tone": "professional",
        "tone_text": tone_text,
        "language": language,
        "n_variants": 3,
        "creativity": 0.3,
        "brand_kit": kit["name"] if kit else "",
        "purpose": kind,
        "source": {
            "alert_id": alert.id,
            "monitor_id": alert.monitor_id,
            "rule_kind": alert.kind,
            "topic": alert.topic,
            "window": window,
            "volume": ev.get("volume"),
            "negative": ev.get("negative"),
        },
    }
    return ReplyDraft(kind=kind, prefill=prefill, quotes=quotes, terms=terms)


def brand_kit_names() -> list[str]:
    """Names of the stored brand kits."""
    with session_scope() as s:
        return list(s.scalars(select(BrandKit.name).order_by(BrandKit.name)))
