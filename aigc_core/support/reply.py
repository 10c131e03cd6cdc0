"""Ticket replies grounded in a knowledge base: ticket → sentiment → top passages → the best passage's answer
rephrased by the language model (a completion prompt with one worked example, which a 135M model follows) →
each sentence cited by the passage it comes from ([1], [2] …) → checks → stored with everything needed to
reproduce it. When the model's draft fails the checks (a fact not in a cited passage, a sentence matching no
passage, no citation, a fact of the answer dropped or most of the answer left out, banned words), the reply is
the passage's own answer with a greeting, cited.

Below the relevance threshold (no passage is similar enough to the ticket, by cosine or by shared words) the
reply is not drafted by the model: it says a person will follow up and the ticket is flagged for hand-off.
Facts that matter (prices, percentages, periods, amounts, other numbers) in a reply must appear in a passage
it cites, or it is marked for review."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from aigc_core.cjk import has_han
from aigc_core.errors import AigcError, NotFoundError, UserInputError
from aigc_core.settings import get_settings
from aigc_core.store import session_scope
from aigc_core.store.models import SupportReply
from aigc_core.support.grounding import Flag, answer_of, answer_problems, attach_citations, check_reply, is_answerable
from aigc_core.support.index import Embedder, Passage
from aigc_core.users.roles import Actor, current, owned_row, visible_filter

CHANNELS = ("email", "chat", "social", "phone")
LANGUAGES = ("auto", "en", "zh")
MAX_TICKET_CHARS = 5000
MAX_PASSAGE_CHARS = 700
HANDOFF = {
    "en": "Hi{name}, thank you for getting in touch. We want to give you an accurate answer, so a member of our "
    "team will look into your message and follow up with you shortly.",
    "zh": "您好{name}，感谢您的来信。为了给您准确的答复，我们的同事会查看您的问题并尽快跟进回复您。",
}
MAX_DRAFT_CHARS = 1200
_EXAMPLE = {
    "en": {
        "rule": "Write a short, friendly reply to the customer that gives the answer below. Keep every number, "
        "price, period and name exactly as in the answer and add no other facts.",
        "voice": "Voice: ",
        "q": "Customer: ", "a": "Answer: ", "r": "Reply: ",
        "example_q": "Can I still send back the lamp I opened?",
        "example_a": "Opened items can be returned within 30 days if they are complete and undamaged.",
        "example_r": "Hi Sam, thanks for asking! Opened items can be returned within 30 days if they are complete "
        "and undamaged.",
    },
    "zh": {
        "rule": "根据下面的答案，给顾客写一句简短、友好的回复。"
        "数字、价格、期限和名称必须与答案完全一致，不要添加其他信息。",
        "voice": "语气：",
        "q": "顾客：", "a": "答案：", "r": "回复：",
        "example_q": "打开过的台灯还能退吗？",
        "example_a": "已拆封的商品只要配件齐全、没有损坏，可以在30天内退货。",
        "example_r": "您好，感谢您的咨询！已拆封的商品只要配件齐全、没有损坏，可以在30天内退货。",
    },
}  # fmt: skip
_MARKUP = re.compile(r"<\|[^|>]{1,40}\|>|</?s>|\[/?INST\]", re.I)


@dataclass
class Ticket:
    """A customer's message and what is known about it."""

    text: str
    customer_name: str = ""
    channel: str = "email"
    language: str = "auto"

    def validated(self) -> Ticket:
        """The ticket with its language resolved; UserInputError on bad values."""
        text = (self.text or "").strip()
        if not text:
            raise UserInputError("The ticket is empty.", hint="Paste the customer's message.")
        if len(text) > MAX_TICKET_CHARS:
            raise UserInputError(
                f"The ticket has {len(text):,} characters; at most {MAX_TICKET_CHARS:,} are read.",
                hint="Paste the customer's latest message only.",
            )
        if self.channel not in CHANNELS:
            raise UserInputError(f"Unknown channel {self.channel!r}.", hint=f"Use one of {', '.join(CHANNELS)}.")
        if self.language not in LANGUAGES:
            raise UserInputError(f"Unknown language {self.language!r}.", hint=f"Use one of {', '.join(LANGUAGES)}.")
        lang = self.language if self.language != "auto" else ("zh" if has_han(text) else "en")
        return Ticket(text, " ".join((self.customer_name or "").split())[:100], self.channel, lang)


SUPPORT_PREFILL_KEY = "support_prefill_tickets"  # session key: a list of Ticket dicts the Support page opens with


def tickets_from_texts(items: list[Any], *, channel: str = "social") -> list[Ticket]:
    """Validated tickets from texts or Ticket dicts (empty ones dropped, long ones cut to MAX_TICKET_CHARS)."""
    out: list[Ticket] = []
    for item in items or []:
        raw = dict(item) if isinstance(item, dict) else {"text": str(item), "channel": channel}
        text = " ".join(str(raw.get("text") or "").split())[:MAX_TICKET_CHARS]
        if not text:
            continue
        out.append(Ticket(text, str(raw.get("customer_name") or ""), str(raw.get("channel") or channel),
                          str(raw.get("language") or "auto")).validated())  # fmt: skip
    return out


def alert_tickets(alert_id: str, *, n: int = 5, actor: Actor | None = None) -> list[Ticket]:
    """The texts behind a Sentiment monitor alert (its most negative examples, then the window's negative texts)
    as tickets (channel ``social``) for the Support replies page."""
    from aigc_core.monitor import alerts

    alert = alerts.get_alert(alert_id, actor=actor)
    texts = [e.text for e in alert.examples if e.text]
    if len(texts) < n and alert.window_start is not None and alert.window_end is not None:
        from aigc_core.monitor.aggregate import Filters
        from aigc_core.monitor.store import monitor_data

        topic = alert.topic
        rows = monitor_data(alert.monitor_id, actor=actor).drill_down(
            Filters(topics=(topic,) if topic else (), labels=("negative",)), alert.window_start, alert.window_end,
            limit=n,
        )  # fmt: skip
        texts += [str(t) for t in rows["text"].tolist()]
    seen: set[str] = set()
    unique = []
    for t in texts:
        key = " ".join(t.split()).lower()
        if key and key not in seen:
            seen.add(key)
            unique.append(t)
    tickets = tickets_from_texts(unique[:n])
    if not tickets:
        raise UserInputError("This alert has no texts to reply to.", hint="Pick an alert with example texts.")
    return tickets


@dataclass
class ReplyDraft:
    """A drafted reply, its passages, checks and provenance."""

    ticket: Ticket
    reply: str
    status: str  # drafted | review | handoff
    passages: list[Passage]
    cited: list[int]
    flags: list[Flag]
    sentiment: dict[str, Any]
    relevance: dict[str, float]
    answerable: bool
    model: str
    settings: dict[str, Any]
    kb_version_id: str
    id: str = ""
    unsupported: list[str] = field(default_factory=list)
    draft_source: str = ""  # model: the model's rephrasing passed the checks; passage: the passage's own answer

    @property
    def needs_review(self) -> bool:
        """True when a person must check (or write) the reply before it is sent."""
        return self.status != "drafted"


# ------------------------------------------------------------------------------------------------
# Checks
# ------------------------------------------------------------------------------------------------


# ------------------------------------------------------------------------------------------------
# Grounded drafts: rephrase the passage's answer, then cite each sentence by the passage it comes from
# ------------------------------------------------------------------------------------------------


def greeting(ticket: Ticket) -> str:
    """The reply's opening words."""
    name = f" {ticket.customer_name}" if ticket.customer_name else ""
    return f"您好{name}，" if ticket.language == "zh" else f"Hi{name},"


def rephrase_prompt(ticket: Ticket, sources: list[Passage], voice: str = "") -> str:
    """A completion prompt a small model can follow: one worked example, then the ticket, the answer of the
    passage(s) it must rephrase and the reply's opening words (the model writes the rest of the line)."""
    ex = _EXAMPLE[ticket.language]
    head = ex["rule"] + (f" {ex['voice']}{' '.join(voice.split())[:300]}" if voice.strip() else "")
    answer = " ".join(answer_of(p)[:MAX_PASSAGE_CHARS] for p in sources)
    ticket_text = " ".join(ticket.text.split())[:1500]
    return (
        f"{head}\n\n{ex['q']}{ex['example_q']}\n{ex['a']}{ex['example_a']}\n{ex['r']}{ex['example_r']}\n\n"
        f"{ex['q']}{ticket_text}\n{ex['a']}{answer}\n{ex['r']}{greeting(ticket)}"
    )


def passage_reply(ticket: Ticket, source: Passage) -> str:
    """The fallback reply: a greeting sentence and the passage's own answer, cited."""
    answer = answer_of(source)
    m = re.search(r"[.!?。！？]+$", answer)
    cited = f"{answer[: m.start()]} [{source.rank}]{m.group(0)}" if m else f"{answer} [{source.rank}]"
    name = f" {ticket.customer_name}" if ticket.customer_name else ""
    if ticket.language == "zh":
        return f"您好{name}，感谢您的咨询。{cited}"
    return f"Hi{name}, thanks for getting in touch. {cited}"


def _first_line(raw: str) -> str:
    text = clean_reply(raw)
    for stop in ("\n", "Customer:", "Answer:", "顾客：", "答案："):
        text = text.split(stop)[0]
    return text.strip()


# ------------------------------------------------------------------------------------------------
# Prompt and generation
# ------------------------------------------------------------------------------------------------
def _fit(lm: Any, ticket: Ticket, sources: list[Passage], voice: str, max_new_tokens: int) -> str:
    """The rephrasing prompt with as many source passages as fit the model's context (best first)."""
    use = list(sources)
    while True:
        prompt = rephrase_prompt(ticket, use, voice)
        n = len(lm.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        if n + max_new_tokens <= lm.context - 8 or len(use) <= 1:
            if n + max_new_tokens > lm.context - 8:
                raise UserInputError(
                    f"The ticket and one passage take {n} tokens; with {max_new_tokens} new tokens they do not fit "
                    f"the model's context of {lm.context}.",
                    hint="Shorten the ticket, or ask for fewer new tokens.",
                )
            return prompt
        use = use[:-1]


def clean_reply(raw: str) -> str:
    """The model's text without chat markup and surrounding whitespace."""
    text = _MARKUP.sub("", raw or "").replace("\r", "")
    text = re.sub(r"^\s*(?:assistant|reply)\s*[:：]?\s*", "", text, flags=re.I)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _sentiment(text: str, model: str | None) -> dict[str, Any]:
    from aigc_core.sentiment import score_texts

    value = model or get_settings().sentiment_model or "embedded"
    try:
        res = score_texts([text], model="embedded" if value == "auto" else value)
    except AigcError as exc:
        return {"label": None, "error": exc.message}
    label = res.labels[0]
    return {"label": label, "score": float(res.scores[0]) if label else None, "model": res.model_version}


def draft_reply(
    version_id: str,
    ticket: Ticket | dict[str, Any],
    *,
    k: int | None = None,
    passage_numbers: list[int] | None = None,
    min_similarity: float | None = None,
    min_coverage: float | None = None,
    min_coverage_zh: float | None = None,
    model: str | None = None,
    sentiment_model: str | None = None,
    max_new_tokens: int = 200,
    temperature: float = 0.3,
    top_p: float = 0.9,
    seed: int = 0,
    voice: str = "",
    brand_kit: str | None = None,
    embedder: Embedder | None = None,
    save: bool = True,
    job_id: str | None = None,
    actor: Actor | None = None,
) -> ReplyDraft:
    """Draft (and store) a grounded reply to ``ticket`` from knowledge-base version ``version_id``.
    ``passage_numbers`` keeps only those retrieved passages (the agent's pick)."""
    from aigc_core.support import kb

    cfg = get_settings()
    t = (ticket if isinstance(ticket, Ticket) else Ticket(**ticket)).validated()
    k = k or cfg.support_top_k
    min_similarity = cfg.support_min_similarity if min_similarity is None else min_similarity
    min_coverage = cfg.support_min_coverage if min_coverage is None else min_coverage
    min_coverage_zh = cfg.support_min_coverage_zh if min_coverage_zh is None else min_coverage_zh
    if not 1 <= max_new_tokens <= 1024:
        raise UserInputError(f"max new tokens must be 1-1024, not {max_new_tokens}.", hint="Use about 200.")
    who = current(actor)
    banned: list[str] = []
    if brand_kit:
        from aigc_core.copy.guardrails import get_kit

        kit = get_kit(brand_kit)
        voice = voice or kit.voice
        banned = [b for b in kit.banned if b.strip()]
    result = kb.search(version_id, t.text, k, embedder=embedder, actor=who)
    passages = result.passages
    if passage_numbers:
        passages = [p for p in passages if p.rank in set(passage_numbers)] or passages
    sentiment = _sentiment(t.text, sentiment_model)
    answerable, relevance = is_answerable(
        result, min_similarity=min_similarity, min_coverage=min_coverage, min_coverage_zh=min_coverage_zh
    )
    settings = {
        "k": k, "min_similarity": min_similarity, "min_coverage": min_coverage, "min_coverage_zh": min_coverage_zh,
        "max_new_tokens": max_new_tokens,
        "temperature": temperature, "top_p": top_p, "seed": seed, "voice": voice, "passage_numbers": passage_numbers,
        "brand_kit": brand_kit,
    }  # fmt: skip
    flags: list[Flag] = []
    if sentiment.get("error"):
        flags.append(Flag("sentiment_unavailable", f"Sentiment not scored: {sentiment['error']}", "info"))
    if not answerable:
        name = f" {t.customer_name}" if t.customer_name else ""
        reply = HANDOFF[t.language].format(name=name)
        if result.dense_trusted:
            why = (
                f"score {relevance['score']:.2f} (cosine {relevance['dense']:.2f} + margin) < {min_similarity:.2f}; "
                f"best word coverage {relevance['coverage']:.2f} < {min_coverage:.2f}"
            )
        else:
            why = (
                "the embedding model does not know this language, so only shared words count: best word coverage "
                f"{relevance['coverage']:.2f} < {min_coverage_zh:.2f}"
            )
        flags.append(Flag("handoff", f"No passage is relevant enough ({why}): a person must answer this ticket."))
        draft = ReplyDraft(t, reply, "handoff", passages, [], flags, sentiment, relevance, False, "", settings,
                           version_id)  # fmt: skip
    else:
        from aigc_core.copy.lm import load_language_model

        lm = load_language_model(model)
        sources = passages[: len(passage_numbers)] if passage_numbers else passages[:1]
        prompt = _fit(lm, t, sources[:3], voice, max_new_tokens)
        gen: dict[str, Any] = {"max_new_tokens": max_new_tokens, "do_sample": temperature > 0}
        gen["pad_token_id"] = lm.tokenizer.pad_token_id
        if temperature > 0:
            gen.update(temperature=temperature, top_p=top_p)
        eos = lm.tokenizer.eos_token_id
        if eos is not None:
            gen["eos_token_id"] = eos
        samples, _n = lm.sample(prompt, 1, gen, seed=seed, stop=("\n",))
        continuation = _first_line(samples[0].text if samples else "")
        sep = "" if t.language == "zh" else " "
        raw = f"{greeting(t)}{sep}{continuation}".strip() if continuation else ""
        reply, unmatched = attach_citations(raw, passages, name=t.customer_name)
        cited, check_flags, missing = check_reply(reply, passages, t.text)
        hits = [b for b in banned if b.lower() in reply.lower()]
        problems = [f.message for f in check_flags]
        if unmatched:
            problems.append(f"{len(unmatched)} sentence(s) match no passage")
        if hits:
            problems.append(f"it uses banned words ({', '.join(hits[:5])})")
        if len(reply) > MAX_DRAFT_CHARS:
            problems.append("it is too long")
        problems += answer_problems(reply, sources, name=t.customer_name)
        draft_source = "model"
        if problems:
            draft_source = "passage"
            reply = passage_reply(t, sources[0])
            cited, check_flags, missing = check_reply(reply, passages, t.text)
            why = "; ".join(problems)
            flags.append(Flag(
                "passage_answer",
                f"Answer taken from [{sources[0].rank}]: the model's draft failed the checks ({why}).", "info",
            ))  # fmt: skip
            hits = [b for b in banned if b.lower() in reply.lower()]
            unmatched = []
        flags += check_flags
        for sent in unmatched:
            flags.append(Flag("unsupported_sentence", f"Matches no passage: {sent[:160]}"))
        if hits:
            flags.append(Flag("banned", f"Uses words the brand kit bans: {', '.join(hits[:5])}."))
        settings["draft_source"] = draft_source
        settings["model_draft"] = raw
        status = "review" if any(f.severity == "review" for f in flags) else "drafted"
        draft = ReplyDraft(t, reply, status, passages, cited, flags, sentiment, relevance, True,
                           f"{lm.name}@{lm.revision}" if lm.revision else lm.name, settings, version_id,
                           unsupported=missing, draft_source=draft_source)  # fmt: skip
    if save:
        draft.id = _store(draft, who, job_id)
    return draft


def _store(draft: ReplyDraft, who: Actor, job_id: str | None) -> str:
    with session_scope() as s:
        row = SupportReply(
            kb_version_id=draft.kb_version_id, owner=who.name, ticket=asdict(draft.ticket), reply=draft.reply,
            status=draft.status, flags=[asdict(f) for f in draft.flags], passages=[p.to_dict() for p in draft.passages],
            sentiment=draft.sentiment, model=draft.model, settings=draft.settings, job_id=job_id,
            meta={"cited": draft.cited, "relevance": draft.relevance, "unsupported": draft.unsupported},
        )  # fmt: skip
        s.add(row)
        s.flush()
        return row.id


# ------------------------------------------------------------------------------------------------
# Stored replies
# ------------------------------------------------------------------------------------------------
def _missing(reply_id: str) -> NotFoundError:
    return NotFoundError(f"Reply {reply_id!r} does not exist.", hint="Pick one from the list.")


def get_reply(reply_id: str, *, actor: Actor | None = None) -> dict[str, Any]:
    """A stored reply as a dict (ticket, reply, status, flags, passages, sentiment, model, settings …)."""
    with session_scope() as s:
        row = owned_row(s, SupportReply, reply_id, "read", actor, kind="support_reply", not_found=_missing(reply_id))
        return _row_dict(row)


def _row_dict(row: SupportReply) -> dict[str, Any]:
    return {
        "id": row.id, "kb_version_id": row.kb_version_id, "owner": row.owner, "ticket": dict(row.ticket or {}),
        "reply": row.reply, "status": row.status, "flags": list(row.flags or []), "passages": list(row.passages or []),
        "sentiment": dict(row.sentiment or {}), "model": row.model, "settings": dict(row.settings or {}),
        "created_at": row.created_at, "meta": dict(row.meta or {}),
    }  # fmt: skip


def list_replies(*, limit: int = 50, actor: Actor | None = None) -> list[dict[str, Any]]:
    """The acting user's stored replies (admins: all), newest first."""
    who = current(actor)
    with session_scope() as s:
        q = select(SupportReply).where(visible_filter(who, SupportReply.owner, SupportReply.shared))
        return [_row_dict(r) for r in s.scalars(q.order_by(SupportReply.created_at.desc()).limit(limit))]


def save_edit(reply_id: str, text: str, *, actor: Actor | None = None) -> dict[str, Any]:
    """Store the agent's edited reply; the citation and fact checks run again on the new text."""
    from aigc_core.support.chunking import Chunk

    with session_scope() as s:
        row = owned_row(s, SupportReply, reply_id, "change", actor, kind="support_reply", not_found=_missing(reply_id))
        passages = [Passage(Chunk.from_dict(p["chunk"]), p["index"], p["n"], p["fused"]) for p in (row.passages or [])]
        cited, flags, missing = check_reply(text, passages, (row.ticket or {}).get("text", ""))
        if row.status == "handoff" and not cited:
            flags.append(Flag("handoff", "Flagged for a person: no passage was relevant enough."))
        row.meta = {**(row.meta or {}), "edited_from": row.reply, "cited": cited, "unsupported": missing}
        row.reply = text
        row.flags = [asdict(f) for f in flags]
        row.status = "review" if any(f.severity == "review" for f in flags) else "edited"
        s.flush()
        return _row_dict(row)
