"""Honest checks of ad copy against its brief: does it name the product and state the key points, does it
invent contact details, numbers or names, is it a template with placeholders, is it on topic and fluent, and is
it in the brief's language. The same checks rank the variants and reject the unusable ones; their precision
against hand-labelled variants is measured by ``bench/copy_quality.py``.

Every threshold below was set on that labelled set (``bench/copy_quality.py --calibrate`` prints the sweep)."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from aigc_core.cjk import has_cjk, is_cjk
from aigc_core.copy.limits import split_sentences

Severity = Literal["reject", "review"]

# Thresholds (see the module docstring) ---------------------------------------------------------------
POINT_SIMILARITY = 0.55  # cosine of a sentence (or clause) of the copy to a key point: "states it"
POINT_LEXICAL = 0.6  # share of the key point's content words (CJK: character bigrams) found in the copy
MIN_RELEVANCE = {"en": 0.25, "zh": 0.35}  # cosine of the copy to the whole brief, below it: off topic
MIN_FLUENCY = -4.5  # mean log-probability per token under the generating model; below it: gibberish
MIN_ZH_SHARE = 0.6  # Chinese copy: share of CJK among letters, once the brief's Latin names are removed
# key points a one-liner must state (a reply's own checks judge whether it addresses the complaint)
SHORT_CHANNELS = {"search_headline": 1, "email_subject": 1, "slogan": 1, "support_reply": 1}
NO_PRODUCT_NEEDED = {"slogan", "support_reply"}  # a slogan may stand without the product name, a reply too
REQUIRED_POINTS = 2

# Patterns -------------------------------------------------------------------------------------------
_URL = re.compile(
    r"(?:https?://|www\.)[^\s)\]]+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|cn|net|org|io|co|shop|app|store|info|biz|us|uk|de)\b"
    r"(?:/[^\s)\]]*)?",
    re.I,
)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
_PHONE = re.compile(r"(?<![\w.])(?:\+?\(?\d[\d\s().-]{5,}\d)(?![\w]|\.\d)")
_PRICE = re.compile(
    r"(?:[$€£¥￥]\s?\d[\d,.]*|\d[\d,.]*\s?(?:元|块|美元|欧元|dollars?|euros?|usd|eur|gbp|rmb|cny)\b|"
    r"\d[\d,.]*\s?(?:元|块|美元|欧元))",
    re.I,
)
_PERCENT = re.compile(r"\d[\d.,]*\s?(?:%|％|percent\b|per cent\b)|\d+\s?折|百分之[\d一二三四五六七八九十]+")
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE = re.compile(
    rf"\b{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS}\b|"
    r"\b\d{1,4}[/-]\d{1,2}[/-]\d{1,4}\b|\b(?:19|20)\d\d\b|\d{1,2}\s?月\s?\d{1,2}\s?[日号]|\d{4}\s?年",
    re.I,
)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_PLACEHOLDER = re.compile(
    r"\[[^\]\n]{1,40}\]|\{[^}\n]{0,40}\}|<[^>\n]{1,30}>|\bX{3,}\b|x{3,}|_{3,}|\*{3,}|＿{2,}|"
    r"\blorem ipsum\b|\b(?:your|company|brand|product|customer)\s+name\b|\binsert\s+\w+|"
    r"(?:公司|品牌|产品|客户|你的|您的)名称|某某|XX公司|\?\?\?",
    re.I,
)
_MARKDOWN = re.compile(r"^\s*#{1,6}\s|\*\*[^*]+\*\*|__[^_]+__|\]\(|^\s*[-*]\s", re.M)
_CAMEL = re.compile(r"\b[A-Z]?[a-z]+[A-Z][A-Za-z]*\b|\b[A-Z][A-Za-z]*(?:™|®)|\b\w+(?:™|®)")
_STOP = frozenset(
    re.findall(
        r"\w+",
        "a an the and or of for to in on at by with from your you our we is are be it its this that as all any "
        "no not more most up out new get just now",
    )
)
_WORD = re.compile(r"[a-z0-9]+")


@dataclass
class Finding:
    """Something in the copy that the brief and brand kit do not back up."""

    kind: str  # url | email | phone | placeholder | markdown | price | percent | date | number | name
    text: str
    severity: Severity
    reason: str


@dataclass
class CheckReport:
    """Every check of one variant; ``passes`` means usable as written."""

    product_named: bool
    points: list[str]
    covered: list[int] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    relevance: float | None = None
    fluency: float | None = None
    language: str = ""
    language_ok: bool = True
    needs_product: bool = True
    needs_points: int = 0
    reasons: list[str] = field(default_factory=list)

    @property
    def covered_points(self) -> list[str]:
        """The key points the copy states, in brief order."""
        return [self.points[i] for i in self.covered]

    @property
    def rejected(self) -> bool:
        """Never shown: placeholders, invented contact details, wrong language, off topic or gibberish."""
        return bool(self.reasons)

    @property
    def invented(self) -> list[Finding]:
        """Findings of any severity (``reject``: contact details and placeholders; ``review``: claims)."""
        return list(self.findings)

    @property
    def on_brief(self) -> bool:
        """Names the product (when the channel needs it) and states enough key points."""
        return (self.product_named or not self.needs_product) and len(self.covered) >= self.needs_points

    @property
    def passes(self) -> bool:
        """Usable as written: not rejected, on brief and nothing to review."""
        return not self.rejected and self.on_brief and not self.findings

    def failures(self) -> list[str]:
        """Why it does not pass, in a marketer's words (empty when it passes)."""
        out = list(self.reasons)
        if self.needs_product and not self.product_named:
            out.append("does not name the product")
        if len(self.covered) < self.needs_points:
            out.append(f"states {len(self.covered)} of the {self.needs_points} key points it needs")
        out.extend(f.reason for f in self.findings if f.severity == "review")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (history, export)."""
        d = asdict(self)
        d.update(covered_points=self.covered_points, passes=self.passes, rejected=self.rejected)
        return d


# Helpers ----------------------------------------------------------------------------------------------
def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower()).strip()


def _digits(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def content_terms(text: str) -> list[str]:
    """Content words of Latin text (light plural stemming) plus CJK character bigrams."""
    low = text.lower()
    words = [w[:-1] if len(w) > 3 and w.endswith("s") else w for w in _WORD.findall(low) if w not in _STOP]
    cjk = "".join(c if is_cjk(c) else " " for c in low).split()
    grams = [run[i : i + 2] for run in cjk for i in range(max(1, len(run) - 1))]
    return words + grams


def _lexical_share(point: str, text: str) -> float:
    terms = content_terms(point)
    if not terms:
        return 0.0
    have = set(content_terms(text))
    return sum(t in have for t in terms) / len(terms)


def names_product(text: str, product: str) -> bool:
    """The product (or its distinctive first word, e.g. the brand) appears in the copy."""
    product = product.strip()
    if not product:
        return True
    low = _norm(text)
    if _norm(product) in low:
        return True
    latin = [w for w in re.findall(r"[A-Za-z0-9][\w'&+-]*", product) if w.lower() not in _STOP]
    if latin:
        # the brand word as the product writes it (or in capitals): "Brew" of "Brew Theory cold brew", not "cold brew"
        brand = latin[0]
        flags = re.I if brand.islower() else 0
        for form in {brand, brand.upper()}:
            if re.search(r"(?<![A-Za-z0-9])" + re.escape(form) + r"(?![A-Za-z0-9])", text, flags):
                return True
    squeezed = low.replace(" ", "")
    cjk_runs = ["".join(c if is_cjk(c) else " " for c in product).split()]
    runs = [r for r in cjk_runs[0] if len(r) >= 2]
    # the whole Chinese name, or its first run (the brand, e.g. 鲜蔬达 of "鲜蔬达 生鲜配送")
    return bool(runs) and ("".join(runs) in squeezed or runs[0] in squeezed)


def _clauses(text: str) -> list[str]:
    parts: list[str] = []
    for s in split_sentences(text) or [text]:
        parts.append(s)
        sub = [p.strip() for p in re.split(r"[,;:—–，；：、]| - ", s) if len(p.strip()) > 3]
        if len(sub) > 1:
            parts.extend(sub)
    return parts


# Language -----------------------------------------------------------------------------------------
_lingua_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    langs = [
        Language.ENGLISH,
        Language.CHINESE,
        Language.JAPANESE,
        Language.KOREAN,
        Language.GERMAN,
        Language.FRENCH,
        Language.SPANISH,
        Language.PORTUGUESE,
        Language.ITALIAN,
        Language.DUTCH,
        Language.INDONESIAN,
        Language.TAGALOG,
    ]
    return LanguageDetectorBuilder.from_languages(*langs).build()


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's language (lingua), '' when it cannot tell."""
    with _lingua_lock:
        lang = _detector().detect_language_of(text)
    return lang.iso_code_639_1.name.lower() if lang is not None else ""


def english_confidence(text: str) -> float:
    """lingua's confidence (0..1) that ``text`` is English."""
    from lingua import Language

    with _lingua_lock:
        return float(_detector().compute_language_confidence(text, Language.ENGLISH))


def language_ok(text: str, language: str, allowed_latin: Sequence[str] = ()) -> tuple[bool, str]:
    """(in the brief's language, detected code): Chinese copy may keep the brand's Latin names."""
    if language == "zh":
        rest = text
        for name in allowed_latin:
            if name:
                rest = re.sub(re.escape(name), " ", rest, flags=re.I)
        letters = [c for c in rest if c.isalpha()]
        if not letters:
            return False, ""
        share = sum(is_cjk(c) for c in letters) / len(letters)
        return share >= MIN_ZH_SHARE, ("zh" if share >= MIN_ZH_SHARE else detect_language(rest))
    if has_cjk(text):
        return False, "zh"
    letters = [c for c in text if c.isalpha()]
    if not letters or sum(c.isascii() for c in letters) / len(letters) < 0.9:
        return False, detect_language(text)
    code = detect_language(text)
    if code in ("en", ""):
        return True, "en"
    # lingua is unsure on a few words of ad English ("Kestrel: 10x & Fogproof" reads as Dutch): only a
    # longer text that it gives almost no chance of being English is rejected
    return len(text.split()) < 6 or english_confidence(text) >= 0.1, code


# Invented facts -------------------------------------------------------------------------------------
def find_invented(text: str, allowed: str) -> list[Finding]:
    """Contact details, placeholders, Markdown, prices, percentages, dates, numbers and names in ``text``
    that ``allowed`` (the brief and brand kit as text) does not contain."""
    low_allowed = allowed.lower()
    allowed_digits = _digits(allowed)
    out: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, m: re.Match[str], severity: Severity, reason: str) -> None:
        if any(a <= m.start() < b for a, b in taken):
            return
        taken.append((m.start(), m.end()))
        out.append(Finding(kind, m.group(0).strip(), severity, reason))

    for m in _PLACEHOLDER.finditer(text):
        if m.group(0).lower() not in low_allowed:
            add("placeholder", m, "reject", f"template placeholder “{m.group(0).strip()}”")
    for m in _EMAIL.finditer(text):
        if m.group(0).lower() not in low_allowed:
            add("email", m, "reject", f"invented contact details: e-mail “{m.group(0)}”")
    for m in _URL.finditer(text):
        if m.group(0).lower().rstrip("/.") not in low_allowed:
            add("url", m, "reject", f"invented contact details: web address “{m.group(0)}”")
    for m in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if len(digits) >= 7 and digits not in re.sub(r"\D", "", allowed):
            add("phone", m, "reject", f"invented contact details: phone number “{m.group(0).strip()}”")
    if _MARKDOWN.search(text):
        m0 = _MARKDOWN.search(text)
        assert m0 is not None
        add("markdown", m0, "reject", "Markdown formatting, not plain copy")
    for kind, pattern, what in (
        ("price", _PRICE, "a price"),
        ("percent", _PERCENT, "a percentage"),
        ("date", _DATE, "a date"),
    ):
        for m in pattern.finditer(text):
            if not (_digits(m.group(0)) <= allowed_digits) or (not _digits(m.group(0)) and m.group(0) not in allowed):
                add(kind, m, "review", f"{what} the brief does not give: “{m.group(0).strip()}”")
    for m in _NUMBER.finditer(text):
        value = m.group(0).replace(",", "")
        if value not in allowed_digits and not (len(value) == 1 and value != "0"):
            add("number", m, "review", f"a number the brief does not give: “{m.group(0)}”")
    for m in _CAMEL.finditer(text):
        if m.group(0).lower().rstrip("™®") not in low_allowed:
            add("name", m, "review", f"a name the brief does not give: “{m.group(0)}”")
    allowed_words = set(_WORD.findall(low_allowed))
    for m in _CLAIM.finditer(text):
        if m.group(0).lower() not in low_allowed and not (set(_WORD.findall(m.group(0).lower())) & allowed_words):
            add("claim", m, "review", f"a claim the brief does not make: “{m.group(0)}”")
    for m in _QUANTITY.finditer(text):
        unit = _WORD.findall(m.group(0).lower())[-1]
        if unit not in allowed_words and unit.rstrip("s") not in allowed_words:
            add("number", m, "review", f"an amount the brief does not give: “{m.group(0).strip()}”")
    for m in _LATIN_WORD.finditer(text):
        word = m.group(0)
        if word.lower() not in allowed_words and _rare(word):
            add("word", m, "review", f"a rare or misspelt word: “{word}”")
    return out


# Claims and amounts said in words, and words too rare to be meant --------------------------------------
_CLAIM = re.compile(
    r"\b(?:unlimited|guarantee[ds]?|lifetime|forever|risk[- ]free|no\.? ?1|number one|#1|best[- ]selling|"
    r"award[- ]winning|clinically|proven|certified|official|world'?s|cheapest|fastest|strongest|instant(?:ly)?|"
    r"100 ?%)(?![\w-])"
    r"|无限|终身|永久|第一|最便宜|最快|保证|官方|认证",
    re.I,
)
_NUMBER_WORD = r"(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a full|a whole)"
_QUANTITY = re.compile(
    rf"\b{_NUMBER_WORD}\s+(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|dozen|cups?|"
    r"servings?)\b|\ball[- ](?:day|night|week|year)\b|\b24/7\b"
    # "one-tap backups", "two-step setup": a feature counted in words
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten)-(?!of\b)[a-z]+",
    re.I,
)
_LATIN_WORD = re.compile(r"(?<![\w'-])[a-z][a-z]{3,}(?![\w'-])")  # lower-case words: names are _CAMEL's
RARE_ZIPF = 2.0  # wordfreq Zipf frequency below which an English word the brief does not use is flagged


@functools.lru_cache(maxsize=8192)
def _rare(word: str) -> bool:
    """An English word of under RARE_ZIPF (a typo like 'pizzle', or a made-up word), by ``wordfreq``."""
    from wordfreq import zipf_frequency

    low = word.lower()
    return zipf_frequency(low, "en") < RARE_ZIPF and zipf_frequency(low.rstrip("s"), "en") < RARE_ZIPF


# Form: cut off, repeated, chatter, copied from a prompt example ----------------------------------------
_DANGLING_EN = re.compile(
    r"(?:\b(?:a|an|the|and|or|of|for|to|in|on|at|by|with|from|up|your|our|its|no|not|without|than|into|every)"
    r"|[,;:&+/-])\s*$",
    re.I,
)
_PARTICLE_END = re.compile(r"\b(?:In|On|Up|Out|Off)\s*[.!]?$")  # "Zoom In", "Sign Up": a verb, not a cut
_DANGLING_ZH = re.compile(r"[，、；：,;:]\s*$")
_CHATTER = re.compile(
    r"\b(?:I|I'm|I've|I'd|I'll|me|my|mine)\b|^(?:alright|okay|ok|sure|well|hey|hi|hello)\b(?!-)|what the heck|"
    r"\bhere'?s (?:a|an|the|your)\b|\bas an ai\b",
    re.I,
)
_LEAD_NAME = re.compile(r"^\s*([A-Z][\w'&.-]*)\s*:")
_LEAD_WORDS = frozenset(
    re.findall(r"\w+", "new now warning introducing meet attention reminder psst today hot sale heads update alert tip")
)


def _has_word(word: str, text: str) -> bool:
    return re.search(rf"(?<![\w']){re.escape(word)}(?![\w'])", text, re.I) is not None


def form_problems(text: str, language: str, channel: str, allowed: str, product: str = "") -> list[str]:
    """Reasons a text is not finished copy: cut off mid-phrase, repeating itself (the product's name aside),
    first-person chatter or a chat preamble, or a lead name before a colon that is not the product's."""
    out: list[str] = []
    stripped = text.strip()
    cut = (_DANGLING_ZH if language == "zh" else _DANGLING_EN).search(stripped)
    if cut and not stripped.endswith("+") and not (language == "en" and _PARTICLE_END.search(stripped)):
        out.append("cut off mid-phrase")
    body = text.replace(product, " ") if product.strip() else text  # naming the product twice is not repetition
    units = [_norm(u) for u in re.split(r"[.!?。！？；;，,]", body) if len(_norm(u)) >= 4]
    if len(units) != len(set(units)):
        out.append("repeats itself")
    else:
        words = _WORD.findall(body.lower())
        grams = [" ".join(words[i : i + 3]) for i in range(len(words) - 2)]
        cjk = "".join(c for c in body if is_cjk(c))
        grams += [cjk[i : i + 5] for i in range(len(cjk) - 4)]
        if len(grams) != len(set(grams)):
            out.append("repeats itself")
    if language == "en":
        m = _CHATTER.search(text)
        if m and not _has_word(m.group(0), allowed):
            out.append(f"chatter, not brand copy: “{m.group(0)}”")
    lead = _LEAD_NAME.match(text)
    if lead:
        word = lead.group(1).rstrip(".")
        if word.lower() not in _LEAD_WORDS and not _has_word(word, allowed):
            out.append(f"a name the brief does not give before the colon: “{lead.group(1)}”")
    return out


# Words any ad may use without the brief backing them (calls to action, connectives, praise too mild to be a claim)
_GENERIC_EN = frozenset(
    re.findall(
        r"\w+",
        "get try shop buy order book save start join discover meet enjoy make made keep stay go see find call "
        "today now here there every day time way one first ready easy simple perfect great good best love need "
        "want can will let us it's that's yours ours their them they who what how why when where which so but "
        "also even just only more less than very too off per each like well right got know",
    )
)
_GENERIC_ZH = frozenset(
    ["立即", "马上", "现在", "欢迎", "选择", "一起", "享受", "体验", "轻松", "就是", "我们", "你的", "您的"]
)
UNSUPPORTED_SHARE = 0.34  # swept 0.2 / 0.34 / 0.5 on the labelled set: 0.34 had the best precision at equal recall


def unsupported_clause(text: str, allowed: str) -> str:
    """The first clause of three or more content terms of which under UNSUPPORTED_SHARE come from the brief
    (or are generic ad words): the copy says something the brief does not ('' when every clause is backed)."""
    have = set(content_terms(allowed))
    sentences = [x for x in re.split(r"(?<=[.!?。！？])\s*", text) if x.strip()]
    clauses = [
        c
        for k, sentence in enumerate(sentences)
        if not (k == 0 and sentence.strip().endswith(("?", "？")))  # an opening question is a hook, not a claim
        for c in re.split(r"(?<=[；;，,:：—–])| - ", sentence)
    ]
    for clause in clauses:
        # a generic word counts when the brief uses it too ("7 days" of "7-day battery"), else it is neutral
        terms = [t for t in content_terms(clause) if t in have or (t not in _GENERIC_EN and t not in _GENERIC_ZH)]
        if len(terms) < 3:
            continue
        if sum(_backed(t, have) for t in terms) / len(terms) < UNSUPPORTED_SHARE:
            return clause.strip()
    return ""


def _backed(term: str, have: set[str]) -> bool:
    """The term, or its stem without a comparative or adverb ending ('smoother', 'quickly'), is in ``have``."""
    if term in have:
        return True
    for end in ("er", "est", "ly", "ed", "ing"):
        if term.endswith(end) and len(term) - len(end) >= 3:
            stem = term[: -len(end)]
            if stem in have or stem + "e" in have or (len(stem) > 3 and stem[-1] == stem[-2] and stem[:-1] in have):
                return True
    return False


def leaked_from_examples(text: str, examples: Sequence[str], allowed: str) -> str:
    """A phrase of a prompt example (four words, or four Chinese characters) that the copy repeats and the brief
    does not have: the model copied the example instead of writing for this product ('' when none)."""
    low, allowed_low = text.lower(), " ".join(_WORD.findall(allowed.lower()))  # "reef-safe" = "reef safe"
    words = _WORD.findall(low)
    mine = {" ".join(words[i : i + 4]) for i in range(len(words) - 3)}
    cjk = "".join(c for c in text if is_cjk(c))
    mine_cjk = {cjk[i : i + 4] for i in range(len(cjk) - 3)}
    allowed_cjk = "".join(c for c in allowed if is_cjk(c))
    for ex in examples:
        ew = _WORD.findall(ex.lower())
        for i in range(len(ew) - 3):
            g = " ".join(ew[i : i + 4])
            if g in mine and g not in allowed_low:
                return g
        ec = "".join(c for c in ex if is_cjk(c))
        for i in range(len(ec) - 3):
            g = ec[i : i + 4]
            if g in mine_cjk and g not in allowed_cjk:
                return g
    return ""


def _units_after(number: str, text: str) -> list[str]:
    """The two words (or the CJK characters, a measure word 个 skipped) after each ``number`` in ``text``,
    lower-cased and de-pluralised."""
    out: list[str] = []
    for m in re.finditer(rf"(?<![\d.]){re.escape(number)}\s*[-+]?\s*((?:[A-Za-z]+\s*){{1,2}}|个?[^\sA-Za-z\d])", text):
        raw = m.group(1)
        if not raw[0].isascii():  # CJK: the character after the number, a measure word 个 before a noun skipped
            out.append(raw[1] if raw[0] == "个" and len(raw) > 1 and is_cjk(raw[1]) else raw[0])
            continue
        for unit in raw.lower().split():
            out.append(unit[:-1] if len(unit) > 3 and unit.endswith("s") else unit)
    return out


def _unit_after(number: str, text: str) -> str:
    """The word (or CJK character) right after the first ``number`` in ``text`` ('' when none)."""
    units = _units_after(number, text)
    return units[0] if units else ""


def numbers_keep_their_units(point: str, text: str) -> bool:
    """Each number of the key point appears in the copy with the same unit after it ("24 hours", "15克"): a
    number with another unit ("5-light lamp" for "5 brightness levels") does not state the point."""
    for num in _digits(point):
        wants = [w for w in _units_after(num, point) if w.isalpha() or is_cjk(w)]
        if not wants:
            continue  # a number followed by punctuation or nothing: the number alone is the point
        got = _units_after(num, text.replace(",", ""))
        # the same word, an abbreviation ("sec" = "seconds", "24h" = "24 hours", "12 grams" = "12 g") or one
        # adjective between ("16 smooth cups")
        if not any(
            g == want or (want.isascii() and g and (want.startswith(g) or g.startswith(want)))
            for want in wants
            for g in got
        ):
            return False
    return True


# Key points stated wrongly, product names broken off ---------------------------------------------------
_INFLECTION = ("s", "es", "ed", "d", "ing")


def _inflected(a: str, b: str) -> bool:
    """``a`` and ``b`` are one word in two forms ("sync" / "syncs", "book" / "booked")."""
    short, long_ = sorted((a, b), key=len)
    return long_.startswith(short) and long_[len(short) :] in _INFLECTION


def altered_point(text: str, points: Sequence[str], allowed: str = "") -> str:
    """A key point repeated with one part swapped ("Spinners get early access" for "Members get early access",
    "理赔最快第二天到账" for "理赔最快当天到账"): the copy misstates the brief ('' when none)."""
    words = _WORD.findall(text.lower())
    allowed_words = set(_WORD.findall(allowed.lower()))
    cjk = "".join(c for c in text if is_cjk(c))
    for point in points:
        pw = _WORD.findall(point.lower())
        if sum(w.isalpha() for w in pw) >= 3:  # "45-minute classes" is too short to tell a swap from a paraphrase
            for i in range(len(words) - len(pw) + 1):
                window = words[i : i + len(pw)]
                diff = [k for k in range(len(pw)) if window[k] != pw[k]]
                if len(diff) == 1:
                    a, b = window[diff[0]], pw[diff[0]]
                    if (
                        a.isalpha()
                        and b.isalpha()
                        and not (_inflected(a, b) or (len(a) >= 3 and b.startswith(a)))  # "syncs", "min"
                        and b not in _STOP
                        and a not in _STOP
                        and b not in words  # "first class is free" still says "free"
                        and a not in allowed_words  # a word of another key point: two points run together
                    ):
                        return f"“{b}” became “{a}” in “{point}”"
        pc = "".join(c for c in point if is_cjk(c))
        if len(pc) >= 5 and pc not in cjk:
            # the longest head and tail of the point that the copy has, with something else in between
            for head in range(len(pc) - 2, 1, -1):
                at = cjk.find(pc[:head])
                if at < 0:
                    continue
                rest = cjk[at + head : at + len(pc) + 4]  # up to four characters swapped in
                for tail in range(len(pc) - head - 1, 1, -1):
                    j = rest.find(pc[len(pc) - tail :])
                    if j > 0 and head + tail >= len(pc) - 2:
                        swapped, missing = rest[:j], pc[head : len(pc) - tail]
                        if missing and missing in swapped:  # "续保还享" adds a word and keeps the point
                            break
                        return f"“{missing}” became “{swapped}” in “{point}”"
                break
    return ""


def _terms_of(text: str) -> set[str]:
    """Content words (light plural stemming) and CJK bigrams of ``text``, as sets for lookups."""
    return set(content_terms(text))


def _near(term: str, have: set[str]) -> bool:
    """``term`` or another form of it ("class" / "classes", "book" / "booking") is in ``have``."""
    return term in have or any(
        (h.startswith(term) or term.startswith(h)) for h in have if h.isascii() and min(len(h), len(term)) >= 4
    )


def _window_terms(chunk: str, last: bool) -> list[str]:
    """The content words directly next to a figure on one side (up to two, stopping at the first stop word or
    punctuation: "7-day live location", not "45-minute ride and book"); CJK: the two characters next to it."""
    chunk = re.split(r"[.,;:!?，。；：！？、()（）]", chunk)[-1 if last else 0]
    cjk = "".join(c for c in chunk if is_cjk(c))
    if cjk:
        side = cjk[-2:] if last else cjk[:2]
        return [side] if len(side) == 2 else []
    tokens = chunk.lower().split()
    tokens = tokens[::-1] if last else tokens
    out: list[str] = []
    for token in tokens[:2]:
        parts = [w for w in _WORD.findall(token) if not w.isdigit()]
        content = [w for w in parts if w not in _STOP]
        if not content:  # a stop word ("on a quiet motor", "in 48 hours"): the figure's phrase ends here
            break
        out.extend(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in content)
        if len(content) < len(parts):  # "baked-in": a compound ending on a stop word still belongs to the figure
            break
    return out


def moved_figure(text: str, points: Sequence[str]) -> str:
    """A key point's figure attached to another key point's words ("7-day live location" when the 7 days are the
    battery's, "baked-in 48 hours" when the 48 hours are the dough's, "阿姨持证上岗2小时" when 2小时 is 上门): the
    copy misstates the brief ('' when none). Right after the figure and its unit, the next words must be the
    point's own when they are another point's; with nothing after it, the words before it."""
    own = [_terms_of(_NUMBER.sub(" ", p)) for p in points]
    for j, point in enumerate(points):
        # the product's words do not count: "60-hour Cedar & Pine candles" gives the candles their burn time
        others = set().union(*(own[k] for k in range(len(points)) if k != j)) - own[j]
        for num in _digits(point):
            units = {u for u in _units_after(num, point) if u.isalpha() or is_cjk(u)}
            for m in re.finditer(rf"(?<![\d.]){re.escape(num)}(?![\d])", text):
                rest = text[m.end() :]
                unit = re.match(r"\s*[-+]?\s*([A-Za-z]+|个?[^\sA-Za-z\d.,;:!?，。；：！？、()（）])", rest)
                if units:
                    got = unit.group(1).lower() if unit else ""
                    got = got[:-1] if len(got) > 3 and got.endswith("s") else got
                    if not (got in units or any(u.startswith(got) or got.startswith(u) for u in units if got)):
                        continue  # another unit ("5-light" for "5 brightness levels"): numbers_keep_their_units
                    rest = rest[unit.end() :] if unit else rest
                after = _window_terms(rest, last=False)
                before = _window_terms(text[: m.start()], last=True)
                after_own = any(_near(t, own[j]) for t in after)
                after_other = any(_near(t, others) for t in after)
                before_own = any(_near(t, own[j]) for t in before)
                before_other = any(_near(t, others) for t in before)
                if (after and not after_own and after_other) or (not after and not before_own and before_other):
                    head = re.split(r"[.,;:!?，。；：！？、]", text[: m.start()])[-1]
                    tail = re.split(r"[.,;:!?，。；：！？、]", text[m.start() :])[0]
                    return f"the figure of “{point}” is attached to other words: “{(head + tail).strip()}”"
    return ""


_OFFER = frozenset({"free", "first", "no", "only", "off", "extra", "bonus", "trial", "unlimited"})
_QUANTIFIER = frozenset({"every", "each", "all", "any", "your", "our"})  # "your 10th coffee" of "Every 10th coffee"


def _has_term(term: str, words: Sequence[str]) -> bool:
    return any(w == term or _inflected(w, term) for w in words)


def partial_offer(text: str, points: Sequence[str]) -> str:
    """An English key point with an offer word ("First class free", "No roaming fees", "Free for up to 5 clients")
    stated in part: some of its offer words and own terms without the others ("45-minute classes are free", "the
    first class is now available", "Free!"). A loose offer is a claim the brand did not make ('' when every such
    point is stated whole or not at all). Terms shared with another key point ("class" of "45-minute classes") do
    not count either way."""
    tokenize = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*").findall  # "bpa-free" stays one word
    words = tokenize(text.lower())
    per_point = [tokenize(p.lower()) for p in points]
    for k, (point, pw) in enumerate(zip(points, per_point, strict=True)):
        if not any(w in _OFFER for w in pw):
            continue
        others = [w for j, ws in enumerate(per_point) if j != k for w in ws]
        own = [w for w in pw if w in _OFFER or (w not in _STOP and w not in _QUANTIFIER and not _has_term(w, others))]
        if len(own) > 4:
            continue
        have = [w for w in own if _has_term(w, words)]
        if have and len(have) < len(own):
            missing = [w for w in own if w not in have]
            return f"“{' '.join(have)}” without “{' '.join(missing)}” of “{point}”"
    return ""


def cut_point_at_end(text: str, points: Sequence[str]) -> str:
    """The copy ends on the start of a key point that it never finishes ("…产地直" of "产地直采",
    "…新用户" of "新用户首单免运费"): it was cut off ('' when not)."""
    body = text.strip().rstrip("。.!！")
    if has_cjk(body):  # Chinese headlines separate their phrases with spaces too
        tail = "".join(re.split(r"[\s，,。.!！?？；;：:、]+", body)[-1].split())
        min_len = 2
    else:
        tail, min_len = _norm(re.split(r"[,;:.!?—–]", body)[-1]), 2
        min_len = 2 if len(tail.split()) >= 2 else 10**6  # one word at the end is not a cut
    if len(tail) < min_len:
        return ""
    for point in points:
        p = "".join(point.split()) if has_cjk(body) else _norm(point)
        if (
            p.startswith(tail)
            and len(tail) < len(p)
            and p not in ("".join(body.split()) if has_cjk(body) else _norm(body))
        ):
            rest = p[len(tail) :]
            # English: only when the part left out holds the point's figure ("free shipping" of "… over $50")
            if has_cjk(body) or (not re.match(r"\w", rest) and _NUMBER.search(rest)):
                return point
    return ""


def broken_name(text: str, product: str) -> str:
    """A Chinese product name begun and not finished ("鲜蔬达生鲊" for "鲜蔬达 生鲜配送"): the first run is there,
    the next starts and breaks off ('' when not)."""
    runs = ["".join(c if is_cjk(c) else " " for c in product).split()][0]
    runs = [r for r in runs if len(r) >= 2]
    if len(runs) < 2:
        return ""
    squeezed = "".join(text.split())
    first, second = runs[0], runs[1]
    for m in re.finditer(re.escape(first), squeezed):
        after = squeezed[m.end() : m.end() + len(second)]
        # "安居家政" for "安居 家政服务" shortens the name (two characters kept); "鲜蔬达生鲊" keeps one and breaks off
        if after[:1] == second[0] and after[:2] != second[:2]:
            return squeezed[m.start() : m.end() + 2]
    return ""


# The checks --------------------------------------------------------------------------------------------
Embedder = Any  # Callable[[Sequence[str]], np.ndarray]: unit-length rows


def _default_embedder(texts: Sequence[str]) -> Any:
    from aigc_core.tasks.embeddings import embed

    return embed(texts)


def evaluate(
    texts: Sequence[str],
    *,
    product: str,
    points: Sequence[str],
    brief_text: str,
    language: str,
    channel: str,
    allowed: str = "",
    fluency: Sequence[float | None] | None = None,
    embedder: Embedder | None = None,
    examples: Sequence[str] = (),
) -> list[CheckReport]:
    """One report per text. ``allowed`` is every text the copy may take facts from (brief, brand kit);
    ``fluency`` the mean token log-probability of each text under its model (None: not measured);
    ``examples`` the few-shot examples' texts in the prompt (copying from them rejects a text).
    ``embedder=False`` skips the embedding checks (lexical matching only)."""
    points = [p for p in points if p.strip()]
    allowed_all = "\n".join([allowed, product, *points, brief_text])
    needs_points = min(SHORT_CHANNELS.get(channel, REQUIRED_POINTS), len(points))
    needs_product = channel not in NO_PRODUCT_NEEDED and bool(product.strip())
    reports = [
        CheckReport(
            product_named=names_product(t, product),
            points=list(points),
            needs_product=needs_product,
            needs_points=needs_points,
            fluency=(fluency[i] if fluency is not None else None),
        )
        for i, t in enumerate(texts)
    ]
    clauses = [_clauses(t) for t in texts]
    sims: Any = None
    rel: Any = None
    if embedder is not False and texts:
        import numpy as np

        fn = embedder or _default_embedder
        # the product's own words say nothing about a key point ("Spindle yarn shop is here" states no point)
        name_words = [w for w in re.findall(r"[A-Za-z][\w'-]*", product) if w.lower() not in _STOP]
        strip_name = (
            re.compile(r"(?<![\w'])(?:" + "|".join(map(re.escape, name_words)) + r")(?![\w'])", re.I)
            if name_words
            else None
        )
        flat = [strip_name.sub(" ", c) if strip_name else c for cs in clauses for c in cs]
        vecs = np.asarray(fn([*texts, *flat, *points, brief_text]), dtype=np.float32)
        n, m, k = len(texts), len(flat), len(points)
        tv, cv, pv, bv = vecs[:n], vecs[n : n + m], vecs[n + m : n + m + k], vecs[n + m + k]
        rel = tv @ bv
        sims = []
        pos = 0
        for cs in clauses:
            block = cv[pos : pos + len(cs)]
            pos += len(cs)
            sims.append((block @ pv.T).max(axis=0) if len(cs) and k else np.zeros(k))
    latin_names = re.findall(r"[A-Za-z][\w'&+-]*", allowed_all)
    for i, (text, rep) in enumerate(zip(texts, reports, strict=True)):
        rep.findings = find_invented(text, allowed_all)
        rep.reasons.extend(f.reason for f in rep.findings if f.severity == "reject")
        for j, point in enumerate(points):
            nums = _digits(point)
            lexical = _lexical_share(point, text)
            semantic = float(sims[i][j]) if sims is not None else 0.0
            same_units = numbers_keep_their_units(point, text)
            numbers_ok = nums <= _digits(text) and same_units
            if nums and nums <= _digits(text) and not same_units:
                rep.findings.append(
                    Finding("number", point, "review", f"uses a number of the brief differently: “{point}”")
                )
            elif nums and not nums & _digits(text) and _lexical_share(_NUMBER.sub(" ", point), text) >= 0.6:
                # "free shipping on all orders" for "Free shipping on orders over $50": the point without its figure
                rep.findings.append(Finding("number", point, "review", f"leaves out the figure of “{point}”"))
            if numbers_ok and (lexical >= POINT_LEXICAL or (language == "en" and semantic >= POINT_SIMILARITY)):
                rep.covered.append(j)
        rep.reasons.extend(form_problems(text, language, channel, allowed_all, product))
        cut = cut_point_at_end(text, points)
        if cut and "cut off mid-phrase" not in rep.reasons:
            rep.reasons.append(
                f"cut off in the middle of “{cut}”" if language == "zh" else f"leaves out part of “{cut}”"
            )
        broken = broken_name(text, product)
        if broken:
            rep.reasons.append(f"breaks off the product's name: “{broken}”")
        altered = altered_point(text, points, allowed_all)
        if altered:
            rep.findings.append(Finding("claim", altered, "review", f"changes a key point: {altered}"))
        moved = moved_figure(text, points)
        if moved:
            rep.findings.append(Finding("claim", moved, "review", moved))
        offer = partial_offer(text, points) if language == "en" else ""
        if offer:
            rep.findings.append(Finding("claim", offer, "review", f"states an offer in part: {offer}"))
        extra = unsupported_clause(text, allowed_all)
        if extra:
            rep.findings.append(Finding("claim", extra, "review", f"says what the brief does not: “{extra}”"))
        leaked = leaked_from_examples(text, examples, allowed_all)
        if leaked:
            rep.reasons.append(f"copied from a prompt example: “{leaked}”")
        ok, code = language_ok(text, language, latin_names)
        rep.language, rep.language_ok = code or language, ok
        if not ok:
            rep.reasons.append(f"not in {'Chinese' if language == 'zh' else 'English'}")
        if rel is not None:
            rep.relevance = round(float(rel[i]), 4)
            if rep.relevance < MIN_RELEVANCE.get(language, 0.25) and not rep.covered:
                rep.reasons.append("off topic: says nothing about the brief")
        if rep.fluency is not None and rep.fluency < MIN_FLUENCY:
            rep.reasons.append("reads as gibberish (the model itself found it unlikely)")
    return reports


def summarise(reports: Sequence[CheckReport]) -> dict[str, int]:
    """How many candidates failed for each reason (for the page's note)."""
    out: dict[str, int] = {}
    for rep in reports:
        for reason in rep.failures():
            key = reason.split(":")[0].split("“")[0].strip()
            out[key] = out.get(key, 0) + 1
    return out
