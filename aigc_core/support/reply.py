"""Ticket replies grounded in a knowledge base: ticket → sentiment → top passages → a reply drafted by the
language model citing its passages as [1], [2] … → checks → stored with everything needed to reproduce it.

Below the relevance threshold (no passage is similar enough to the ticket, by cosine or by shared words) the
reply is not drafted by the model: it says a person will follow up and the ticket is flagged for hand-off.
Facts that matter (prices, percentages, periods, amounts, other numbers) in a reply must appear in a passage
it cites, or it is marked for review."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select

from aigc_core.errors import AigcError, NotFoundError, UserInputError
from aigc_core.settings import get_settings
from aigc_core.store import session_scope
from aigc_core.store.models import SupportReply
from aigc_core.support.index import Embedder, Passage, SearchResult
from aigc_core.support.textproc import has_cjk
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
_CITATION = re.compile(r"\[(\d{1,2})\]")
_MARKUP = re.compile(r"<\|[^|>]{1,40}\|>|</?s>|\[/?INST\]", re.I)

# Facts: (kind, pattern); a fact's key is its kind and normalised number.
_NUM = r"\d+(?:[.,]\d+)*"
_CN_UNITS = "天|日|周|星期|个月|月|年|小时|分钟|工作日"
_FACT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("price", re.compile(
        rf"[$€£¥￥]\s?({_NUM})|({_NUM})\s?(?:元|块|美元|欧元|dollars?|euros?|usd|eur|gbp|rmb|cny)\b", re.I)),
    ("percent", re.compile(rf"({_NUM})\s?(?:%|％|percent\b|per cent\b)|({_NUM})\s?折", re.I)),
    ("period", re.compile(
        rf"({_NUM})\s?(?:-|‐)?\s?(?:business\s+|working\s+|calendar\s+)?"
        rf"(?:days?|weeks?|months?|years?|hours?|hrs?|minutes?|mins?)\b|({_NUM})\s?(?:{_CN_UNITS})", re.I)),
    ("number", re.compile(rf"(?<![\w.])({_NUM})(?![\w.]*\d)")),
)  # fmt: skip


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
        lang = self.language if self.language != "auto" else ("zh" if has_cjk(text) else "en")
        return Ticket(text, " ".join((self.customer_name or "").split())[:100], self.channel, lang)


@dataclass
class Flag:
    """Something an agent must look at before sending."""

    kind: str  # handoff | unsupported_fact | no_citation | bad_citation | empty | sentiment_unavailable
    message: str
    severity: str = "review"  # review | info


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

    @property
    def needs_review(self) -> bool:
        """True when a person must check (or write) the reply before it is sent."""
        return self.status != "drafted"


# ------------------------------------------------------------------------------------------------
# Checks
# ------------------------------------------------------------------------------------------------
def _norm_number(text: str) -> str:
    t = text.replace(",", "") if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", text) else text.replace(",", ".")
    try:
        value = float(t)
    except ValueError:
        return text
    return f"{value:g}"


def extract_facts(text: str) -> list[tuple[str, str, str]]:
    """Facts in ``text`` as (kind, normalised number, the text matched); a number is reported once, by its most
    specific kind (price, percent, period, then plain number). Citation markers are not facts."""
    body = _CITATION.sub(" ", text or "")
    found: list[tuple[int, str, str, str]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _FACT_PATTERNS:
        for m in pattern.finditer(body):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            num = next((g for g in m.groups() if g), None)
            if num is None:
                continue
            taken.append((m.start(), m.end()))
            found.append((m.start(), kind, _norm_number(num), m.group(0).strip()))
    return [(kind, num, shown) for _, kind, num, shown in sorted(found)]


def unsupported_facts(reply: str, sources: list[str]) -> list[str]:
    """The facts of ``reply`` whose number does not appear (as the same kind, or as a plain number) in any of
    ``sources`` (the cited passages and the ticket itself)."""
    have: set[tuple[str, str]] = set()
    numbers: set[str] = set()
    for src in sources:
        for kind, num, _ in extract_facts(src):
            have.add((kind, num))
            numbers.add(num)
    missing = []
    for kind, num, shown in extract_facts(reply):
        plain_ok = num in numbers if kind == "number" else ("number", num) in have
        if (kind, num) in have or plain_ok:
            continue
        missing.append(shown)
    return missing


def citations(reply: str) -> list[int]:
    """The passage numbers cited in ``reply``, in order of first use."""
    return list(dict.fromkeys(int(m) for m in _CITATION.findall(reply or "")))


def check_reply(reply: str, passages: list[Passage], ticket_text: str) -> tuple[list[int], list[Flag], list[str]]:
    """Cited passage numbers, flags and unsupported facts of a reply (drafted or edited)."""
    flags: list[Flag] = []
    numbers = {p.rank for p in passages}
    cited = citations(reply)
    bad = [n for n in cited if n not in numbers]
    cited = [n for n in cited if n in numbers]
    if not reply.strip():
        flags.append(Flag("empty", "The model wrote nothing usable; write the reply by hand or regenerate."))
    if bad:
        flags.append(Flag("bad_citation", f"The reply cites passage(s) {bad} that were not given to it."))
    if not cited and reply.strip():
        flags.append(Flag("no_citation", "The reply cites no passage; check it against the passages."))
    sources = [p.chunk.text for p in passages if p.rank in cited] + [ticket_text]
    missing = unsupported_facts(reply, sources)
    if missing:
        flags.append(Flag("unsupported_fact", f"Not in a cited passage: {', '.join(missing[:6])}."))
    return cited, flags, missing


def is_answerable(result: SearchResult, *, min_similarity: float, min_coverage: float) -> tuple[bool, dict[str, float]]:
    """Whether the best passages are relevant enough to answer from: a dense cosine of at least
    ``min_similarity`` (only where the encoder knows the query's language) or an idf-weighted word coverage of at
    least ``min_coverage``."""
    rel = {"dense": round(result.top_dense, 4), "coverage": round(result.top_coverage, 4)}
    dense_ok = result.dense_trusted and result.top_dense >= min_similarity
    return (dense_ok or result.top_coverage >= min_coverage), rel


# ------------------------------------------------------------------------------------------------
# Prompt and generation
# ------------------------------------------------------------------------------------------------
def build_messages(ticket: Ticket, passages: list[Passage], voice: str = "") -> list[dict[str, str]]:
    """The chat messages asking for a reply that uses and cites only ``passages``."""
    lang = "Chinese (简体中文)" if ticket.language == "zh" else "English"
    system = (
        "You are a customer-service agent. Answer the customer's message using only the numbered passages. "
        "After each fact, cite its passage number in brackets, like [1]. Never invent prices, dates, periods, "
        "amounts or policies that are not in the passages; if they do not answer the question, say that a "
        f"colleague will follow up. Write plain text in {lang}, short enough for {ticket.channel}."
    )
    if voice.strip():
        system += f" Brand voice: {voice.strip()}"
    if ticket.customer_name:
        system += f" Address the customer as {ticket.customer_name}."
    lines = [f"[{p.rank}] {p.chunk.text[:MAX_PASSAGE_CHARS]}" for p in passages]
    user = "Passages:\n" + "\n".join(lines) + f"\n\nCustomer message ({ticket.channel}):\n{ticket.text}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def render_prompt(lm: Any, messages: list[dict[str, str]]) -> str:
    """The prompt text for the model: its chat template, or a plain completion prompt for a base model."""
    tok = lm.tokenizer
    if getattr(lm, "chat", True) and getattr(tok, "chat_template", None) is not None:
        return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return "\n\n".join(m["content"] for m in messages) + "\n\nReply:"


def _fit(lm: Any, ticket: Ticket, passages: list[Passage], voice: str, max_new_tokens: int) -> str:
    """The prompt with as many passages as fit the model's context (best first)."""
    use = list(passages)
    while True:
        prompt = render_prompt(lm, build_messages(ticket, use, voice))
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
    answerable, relevance = is_answerable(result, min_similarity=min_similarity, min_coverage=min_coverage)
    settings = {
        "k": k, "min_similarity": min_similarity, "min_coverage": min_coverage, "max_new_tokens": max_new_tokens,
        "temperature": temperature, "top_p": top_p, "seed": seed, "voice": voice, "passage_numbers": passage_numbers,
        "brand_kit": brand_kit,
    }  # fmt: skip
    flags: list[Flag] = []
    if sentiment.get("error"):
        flags.append(Flag("sentiment_unavailable", f"Sentiment not scored: {sentiment['error']}", "info"))
    if not answerable:
        name = f" {t.customer_name}" if t.customer_name else ""
        reply = HANDOFF[t.language].format(name=name)
        cosine = (
            f"best cosine {relevance['dense']:.2f} < {min_similarity:.2f}"
            if result.dense_trusted
            else "the embedding model does not know this language, so only shared words count"
        )
        flags.append(Flag(
            "handoff",
            f"No passage is relevant enough ({cosine}; best word coverage {relevance['coverage']:.2f} < "
            f"{min_coverage:.2f}): a person must answer this ticket.",
        ))  # fmt: skip
        draft = ReplyDraft(t, reply, "handoff", passages, [], flags, sentiment, relevance, False, "", settings,
                           version_id)  # fmt: skip
    else:
        from aigc_core.copy.lm import load_language_model

        lm = load_language_model(model)
        prompt = _fit(lm, t, passages, voice, max_new_tokens)
        gen: dict[str, Any] = {"max_new_tokens": max_new_tokens, "do_sample": temperature > 0}
        gen["pad_token_id"] = lm.tokenizer.pad_token_id
        if temperature > 0:
            gen.update(temperature=temperature, top_p=top_p)
        eos = lm.tokenizer.eos_token_id
        if eos is not None:
            gen["eos_token_id"] = eos
        samples, _n = lm.sample(prompt, 1, gen, seed=seed)
        reply = clean_reply(samples[0].text if samples else "")
        cited, check_flags, missing = check_reply(reply, passages, t.text)
        flags += check_flags
        low = reply.lower()
        hits = [b for b in banned if b.lower() in low]
        if hits:
            flags.append(Flag("banned", f"Uses words the brand kit bans: {', '.join(hits[:5])}."))
        status = "review" if any(f.severity == "review" for f in flags) else "drafted"
        draft = ReplyDraft(t, reply, status, passages, cited, flags, sentiment, relevance, True,
                           f"{lm.name}@{lm.revision}" if lm.revision else lm.name, settings, version_id,
                           unsupported=missing)  # fmt: skip
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
