"""Whether a reply may be drafted from the passages found, and whether a reply is grounded in them.

The relevance gate (:func:`is_answerable`): the best dense cosine and its margin over the second best, or the
words the ticket shares with a passage, must reach the thresholds in the settings; below them the ticket goes to a
person. Grounding: the facts a reply states (prices, percentages, periods, amounts, other numbers) must appear in
a passage it cites (:func:`check_reply`), each sentence is cited by the passage it comes from
(:func:`attach_citations`), and a model's draft must keep the facts and most of the words of its source answer
(:func:`answer_problems`)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from aigc_core.cjk import has_han
from aigc_core.settings import get_settings
from aigc_core.support.index import Passage, SearchResult

_CITATION = re.compile(r"\[(\d{1,2})\]")


_SENT_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])")


# The relevance gate's score is cosine + MARGIN_WEIGHT x (its margin over the second best cosine); chosen with the
# thresholds by ``bench/support.py --tune`` on the tuning part of the bench's evaluation set.
MARGIN_WEIGHT = 0.75


CITE_MIN_OVERLAP = 0.5  # share of a sentence's content words a passage must hold to be cited for it


ANSWER_MIN_COVERAGE = 0.5  # share of the source answer's content words a model draft must keep


_FILLER_WORDS = (
    "dear glad happy help question asking ask reach contact out touch let know sure course great good day regards "
    "best team customer welcome hope sorry hear apologise apologize inconvenience thank thanks message writing "
    "yes okay ok answer ask asked kind wish us our we getting"
)


_FILLER_ZH = ("您好", "你好", "感谢", "谢谢", "联系", "咨询", "问题", "高兴", "为您", "服务", "祝", "愉快", "您", "好")


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
class Flag:
    """Something an agent must look at before sending."""

    kind: str  # handoff | unsupported_fact | no_citation | bad_citation | empty | sentiment_unavailable
    message: str
    severity: str = "review"  # review | info


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


def relevance(result: SearchResult) -> dict[str, float]:
    """The relevance signals of a search: the best dense cosine among the passages, its margin over the second
    best, the gate's score (cosine + MARGIN_WEIGHT x margin) and the best idf-weighted word coverage."""
    cosines = sorted((p.dense for p in result.passages if p.dense is not None), reverse=True)
    top = cosines[0] if cosines else 0.0
    margin = top - cosines[1] if len(cosines) > 1 else top
    return {
        "dense": round(top, 4),
        "margin": round(margin, 4),
        "score": round(top + MARGIN_WEIGHT * margin, 4),
        "coverage": round(result.top_coverage, 4),
    }


def is_answerable(
    result: SearchResult, *, min_similarity: float, min_coverage: float, min_coverage_zh: float | None = None
) -> tuple[bool, dict[str, float]]:
    """Whether the best passages are relevant enough to answer from.

    Where the encoder knows the query's language: the score (best cosine + MARGIN_WEIGHT x its margin over the
    second best: a clear winner counts more than several lukewarm matches) of at least ``min_similarity``, or a
    word coverage of at least ``min_coverage``. Where it does not (Chinese with the English all-MiniLM), only BM25's
    words count: an idf-weighted coverage of the query's jieba tokens of at least ``min_coverage_zh``."""
    rel = relevance(result)
    if not result.dense_trusted:
        floor = get_settings().support_min_coverage_zh if min_coverage_zh is None else min_coverage_zh
        return rel["coverage"] >= floor, rel
    return (rel["score"] >= min_similarity or rel["coverage"] >= min_coverage), rel


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` (English and Chinese end punctuation)."""
    return [s.strip() for s in _SENT_END.split(text or "") if s and s.strip()]


@functools.lru_cache(maxsize=1)
def _filler() -> frozenset[str]:
    """Tokens of greetings and courtesy words (not content: a sentence of only these is not cited)."""
    from aigc_core.support.textproc import stem

    return frozenset(stem(w) for w in _FILLER_WORDS.split()) | frozenset(_FILLER_ZH)


def _content_tokens(sentence: str, name: str = "") -> set[str]:
    from aigc_core.support.textproc import tokenize

    drop = _filler() | set(tokenize(name))
    return {t for t in tokenize(_CITATION.sub(" ", sentence)) if t not in drop}


def attach_citations(text: str, passages: list[Passage], *, name: str = "") -> tuple[str, list[str]]:
    """``text`` with each sentence cited by the passage it comes from, and the sentences that match none.

    A sentence comes from the passage holding most of its content words (at least CITE_MIN_OVERLAP of them) and
    every fact (number, price, period) it states; greetings and courtesy sentences (no content words) are not
    cited. Citations the model wrote are replaced by these."""
    from aigc_core.support.textproc import tokenize

    ptoks = [(p, set(tokenize(p.chunk.text))) for p in passages]
    out: list[str] = []
    unmatched: list[str] = []
    for sent in split_sentences(_CITATION.sub("", text)):
        sent = re.sub(r"\s+([.,!?;:])", r"\1", sent)
        content = _content_tokens(sent, name)
        facts = extract_facts(sent)
        if not content and not facts:
            out.append(sent)
            continue
        best, best_score = None, 0.0
        for p, toks in ptoks:
            score = len(content & toks) / len(content) if content else 1.0
            if score > best_score and not unsupported_facts(sent, [p.chunk.text]):
                best, best_score = p, score
        if best is None or best_score < CITE_MIN_OVERLAP:
            if len(content) >= 2 or facts:
                unmatched.append(sent)
            out.append(sent)
            continue
        m = re.search(r"[.!?。！？]+$", sent)
        out.append(f"{sent[: m.start()]} [{best.rank}]{m.group(0)}" if m else f"{sent} [{best.rank}]")
    joiner = "" if all(has_han(s) for s in out) and out else " "
    return joiner.join(out).strip(), unmatched


def answer_of(passage: Passage) -> str:
    """What a passage says as an answer: an FAQ's answer, a ticket's sent reply, a document passage's text."""
    return " ".join((passage.chunk.body or passage.chunk.text).split())


def answer_problems(reply: str, sources: list[Passage], *, name: str = "") -> list[str]:
    """Why a drafted reply does not convey its source answer(s): facts of the answer it drops, or too few of the
    answer's content words (under ANSWER_MIN_COVERAGE: a polite non-answer)."""
    answer = " ".join(answer_of(p) for p in sources)
    have = {(k, n) for k, n, _ in extract_facts(reply)} | {("number", n) for _, n, _ in extract_facts(reply)}
    dropped = [shown for kind, num, shown in extract_facts(answer) if (kind, num) not in have]
    out = []
    if dropped:
        out.append(f"it drops facts of the answer ({', '.join(dropped[:4])})")
    want = _content_tokens(answer)
    if want and len(want & _content_tokens(reply, name)) / len(want) < ANSWER_MIN_COVERAGE:
        out.append("it leaves out most of the answer")
    return out
