"""Close the loop: from an alert, a typed brief for the copy generator to draft a reply.

A reply is a reply, not an ad: the brief is a ``Brief`` on the ``support_reply`` channel whose product is the
brand that answers (the brand kit's name or the given product; "our team" when there is none, never the
monitor's name), whose key points say what the reply must do (acknowledge the topic, apologise, give the next
step) and whose audience carries the complaint texts (see ``templates/support_reply.yaml``). The quotes and
terms are kept on the ``ReplyDraft`` as well. The engine knows nothing about the pages: the Sentiment page turns
``draft.brief`` into the Ad copy page's prefill itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aigc_core.copy.brief import Brief
from aigc_core.copy.reply_checks import ACK_PREFIX
from aigc_core.errors import NotFoundError, UserInputError
from aigc_core.monitor import alerts as alerts_mod
from aigc_core.store import BrandKit, session_scope
from aigc_core.store.lookup import get_by_id_or_name
from aigc_core.users.roles import Actor

REPLY_KINDS: dict[str, str] = {
    "customer_service": "Customer-service answer",
    "holding_statement": "Holding statement",
}
REPLY_CHANNEL = "support_reply"
MAX_QUOTE_CHARS = 240
MAX_BRIEF_QUOTES = 3  # complaint texts given to the model in the brief's audience (all are on ReplyDraft.quotes)
NO_BRAND = {"en": "our team", "zh": "我们团队"}
_TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "customer_service": [
            "Apologise for the trouble",
            "Next step: send us a direct message so we can help",
        ],
        "holding_statement": [
            "Say we are aware of reports about this and are looking into it",
            "Thank customers for their patience; we will share an update as soon as we know more",
        ],
        "tone_customer_service": "empathetic, human, calm; no marketing language, no blame",
        "tone_holding_statement": "calm, factual, reassuring; no speculation about causes, no promises",
        "audience_customer_service": "Customers who complained",
        "audience_holding_statement": "The public and customers following the issue",
        "about": " about {topic}",
        "wrote": "; they wrote: ",
        "subject": "the recent complaints",
        "quote": "“{q}”",
        "sep": " ",
    },
    "zh": {
        "customer_service": [
            "为给顾客带来的不便致歉",
            "下一步：请通过私信联系我们，以便我们提供帮助",
        ],
        "holding_statement": [
            "说明我们已注意到相关反馈，正在了解情况",
            "感谢顾客的耐心，一有进展会尽快告知",
        ],
        "tone_customer_service": "真诚、有同理心、冷静；不用营销语言，不推卸责任",
        "tone_holding_statement": "冷静、客观、令人安心；不猜测原因，不做承诺",
        "audience_customer_service": "提出投诉的顾客",
        "audience_holding_statement": "关注此事的公众和顾客",
        "about": "（关于{topic}）",
        "wrote": "；他们写道：",
        "subject": "近期的投诉",
        "quote": "“{q}”",
        "sep": " ",
    },
}


@dataclass
class ReplyDraft:
    """The reply's brief (``support_reply`` channel) plus what it was built from."""

    kind: str
    brief: Brief
    quotes: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    topic: str = ""
    source: dict[str, Any] = field(default_factory=dict)

    def topic_terms(self) -> list[str]:
        """What the reply should name to address the complaint (for ``reply_checks.check_reply``)."""
        out = [*self.terms, *([self.topic] if self.topic else [])]
        return list(dict.fromkeys(t for t in out if t))


def _kit(name: str | None) -> dict[str, Any] | None:
    if not name:
        return None
    with session_scope() as s:
        row = get_by_id_or_name(s, BrandKit, name)
        if row is None:
            raise NotFoundError(f"There is no brand kit {name!r}.", hint="Pick one from the list or create it.")
        return {"name": row.name, "voice": row.voice or ""}


def _top_texts(alert: alerts_mod.AlertInfo, n: int, actor: Actor | None) -> list[str]:
    quotes = [e.text for e in alert.examples if e.text]
    if len(quotes) < n and alert.window_start is not None and alert.window_end is not None:
        from aigc_core.monitor.aggregate import Filters
        from aigc_core.monitor.store import monitor_data

        topic = alert.topic
        data = monitor_data(alert.monitor_id, actor=actor)
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


def _window_terms(alert: alerts_mod.AlertInfo, n: int, actor: Actor | None) -> list[str]:
    if alert.window_start is None or alert.window_end is None:
        return []
    try:
        from aigc_core.monitor.aggregate import Filters
        from aigc_core.monitor.store import monitor_data
        from aigc_core.monitor.terms import complaint_terms

        topic = alert.topic
        terms, _ = complaint_terms(
            monitor_data(alert.monitor_id, actor=actor),
            Filters(topics=(topic,) if topic else ()),
            alert.window_start,
            alert.window_end,
            top=n,
        )
        return [t.term for t in terms]
    except Exception:  # the brief is still useful without the terms
        return []


def _audience(kind: str, topic: str, quotes: list[str], language: str, limit: int = 500) -> str:
    """Who the reply is for, then the first complaint texts (as many whole quotes as fit ``limit``)."""
    t = _TEXT[language]
    text = t[f"audience_{kind}"] + (t["about"].format(topic=topic) if topic else "")
    shown: list[str] = []
    for q in quotes[:MAX_BRIEF_QUOTES]:
        cand = t["sep"].join([*shown, t["quote"].format(q=q)])
        if len(text) + len(t["wrote"]) + len(cand) > limit:
            break
        shown.append(t["quote"].format(q=q))
    return text + (t["wrote"] + t["sep"].join(shown) if shown else "")


def build_reply_brief(
    alert_id: str,
    *,
    kind: str = "customer_service",
    brand_kit: str | None = None,
    product: str = "",
    n_quotes: int = 5,
    language: str = "en",
    actor: Actor | None = None,
) -> ReplyDraft:
    """A ``support_reply`` brief for a customer-service answer or a holding statement about the spike of an alert
    the acting user may see."""
    if kind not in REPLY_KINDS:
        raise UserInputError(f"Unknown reply kind {kind!r}.", hint=f"Use one of {', '.join(REPLY_KINDS)}.")
    if language not in _TEXT:
        raise UserInputError(f"Unknown language {language!r}.", hint=f"Use one of {', '.join(_TEXT)}.")
    alert = alerts_mod.get_alert(alert_id, actor=actor)
    kit = _kit(brand_kit)
    quotes = _top_texts(alert, n_quotes, actor)
    terms = _window_terms(alert, 6, actor)
    t = _TEXT[language]
    topic = alert.topic or ""
    subject = ", ".join(terms[:4]) if terms else (topic or t["subject"])
    brand = product.strip() or (kit["name"] if kit else "") or NO_BRAND[language]
    sep = "" if language == "zh" else " "
    points = [f"{ACK_PREFIX[language]}{sep}{subject}", *t[kind]]
    brief = Brief(
        product=brand[:300],
        key_points="\n".join(points),
        audience=_audience(kind, topic, quotes, language),
        channel=REPLY_CHANNEL,
        tone="professional",
        tone_text=t[f"tone_{kind}"],
        language=language,
        n_variants=3,
        creativity=0.3,
        brand_kit=kit["name"] if kit else "",
    )
    ev = alert.evidence
    window = (
        f"{alert.window_start:%Y-%m-%d %H:%M} – {alert.window_end:%Y-%m-%d %H:%M} UTC" if alert.window_start else ""
    )
    source = {
        "alert_id": alert.id,
        "monitor_id": alert.monitor_id,
        "rule_kind": alert.kind,
        "topic": alert.topic,
        "window": window,
        "volume": ev.get("volume"),
        "negative": ev.get("negative"),
    }
    return ReplyDraft(kind=kind, brief=brief, quotes=quotes, terms=terms, topic=topic, source=source)
