"""Channel length limits with CJK-aware counting, and trimming to whole sentences.

Three units, chosen per channel (documented in ``CHANNEL_LIMITS``):

* ``width`` — display width: a CJK (wide/full-width) character counts as 2, everything else as 1. Ad platforms
  count double-width characters this way (search ads, subject lines shown in a fixed-width slot).
* ``chars`` — characters: every character, CJK included, counts as 1 (SMS: 160 GSM characters in English,
  70 UCS-2 characters once the text has Chinese).
* ``words`` — words: a run of Latin letters/digits is one word and every CJK character is one word.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from aigc_core.cjk import has_cjk, is_cjk
from aigc_core.errors import UserInputError

Unit = Literal["width", "chars", "words"]


@dataclass(frozen=True)
class ChannelLimit:
    """Maximum (and sensible minimum) length of one channel, per language, in one unit."""

    unit: Unit
    max_en: int
    max_zh: int
    min_en: int = 1
    min_zh: int = 1
    why: str = ""

    def max_for(self, language: str) -> int:
        """The maximum for ``language``."""
        return self.max_zh if language == "zh" else self.max_en

    def min_for(self, language: str) -> int:
        """The smallest limit that can still hold a useful text in ``language``."""
        return self.min_zh if language == "zh" else self.min_en


CHANNEL_LIMITS: dict[str, ChannelLimit] = {
    "search_headline": ChannelLimit("width", 30, 30, 10, 8, "Search ads: 30 columns, CJK characters count 2."),
    "search_description": ChannelLimit("width", 90, 90, 20, 16, "Search ads: 90 columns, CJK characters count 2."),
    "social_post": ChannelLimit("width", 280, 280, 20, 20, "Short-post platforms weigh CJK characters as 2."),
    "email_subject": ChannelLimit("width", 60, 60, 10, 8, "About 60 columns are visible in most inboxes."),
    "product_description": ChannelLimit("words", 120, 200, 10, 20, "Words; each CJK character is one word."),
    "slogan": ChannelLimit("words", 10, 16, 2, 4, "Words; each CJK character is one word."),
    "sms_push": ChannelLimit("chars", 160, 70, 20, 10, "One SMS: 160 GSM characters, 70 once it holds CJK."),
    "support_reply": ChannelLimit("width", 280, 280, 40, 20, "A public reply on a short-post platform; CJK counts 2."),
}

_WORD_RE = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?。！？…])[\"'”’)）」]*\s*")


def count_chars(text: str) -> int:
    """Characters (code points, combining marks not counted); CJK counts 1."""
    return sum(1 for c in text if not unicodedata.combining(c))


def display_width(text: str) -> int:
    """Display columns: wide and full-width characters (CJK, full-width punctuation) count 2."""
    width = 0
    for c in text:
        if unicodedata.combining(c):
            continue
        width += 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1
    return width


def count_words(text: str) -> int:
    """Words: Latin/digit runs count 1 each, every CJK character counts 1."""
    n_cjk = sum(1 for c in text if is_cjk(c))
    latin = "".join(" " if is_cjk(c) else c for c in text)
    return n_cjk + len(_WORD_RE.findall(latin))


# What each unit is called in a marketer's words (badges, the length field, errors)
UNIT_NAMES: dict[Unit, str] = {"width": "characters", "chars": "characters", "words": "words"}
UNIT_HELP: dict[Unit, str] = {
    "width": "characters; a Chinese character counts as two, as on the platform's own counter",
    "chars": "characters",
    "words": "words",
}


def measure(text: str, unit: Unit) -> int:
    """Length of ``text`` in ``unit``."""
    if unit == "width":
        return display_width(text)
    if unit == "chars":
        return count_chars(text)
    return count_words(text)


def split_sentences(text: str) -> list[str]:
    """Sentences, each keeping its closing punctuation (English and Chinese punctuation)."""
    out: list[str] = []
    pos = 0
    for m in _SENTENCE_END_RE.finditer(text):
        chunk = text[pos : m.start()].strip()
        if chunk:
            out.append(chunk)
        pos = m.end()
    tail = text[pos:].strip()
    if tail:
        out.append(tail)
    return out


@dataclass
class LimitCheck:
    """How a text measures against its channel limit, and whether it had to be trimmed."""

    unit: Unit
    length: int
    max: int
    original_length: int
    trimmed: bool = False
    cut_mid_sentence: bool = False

    @property
    def ok(self) -> bool:
        """The final text fits."""
        return self.length <= self.max

    @property
    def score(self) -> float:
        """1 = fits as written, 0.7 = fits after dropping whole sentences, 0.4 = cut mid-sentence, 0 = too long."""
        if not self.ok:
            return 0.0
        if self.cut_mid_sentence:
            return 0.4
        return 0.7 if self.trimmed else 1.0

    def label(self) -> str:
        """A short badge text."""
        unit = UNIT_NAMES[self.unit]
        state = "fits" if not self.trimmed else ("cut" if self.cut_mid_sentence else "trimmed")
        return f"{self.length}/{self.max} {unit} · {state}"


def limit_for(channel: str, language: str, override: int | None = None) -> tuple[Unit, int]:
    """(unit, max) for a channel and language, with an optional stricter user limit."""
    spec = CHANNEL_LIMITS[channel]
    maximum = spec.max_for(language)
    if override is not None:
        maximum = min(maximum, override) if override > 0 else maximum
    return spec.unit, maximum


def check_feasible(channel: str, language: str, override: int | None = None, required: list[str] | None = None) -> None:
    """Raise UserInputError when no useful text can fit the limit in this language (too strict, or the
    required phrases alone do not fit)."""
    spec = CHANNEL_LIMITS[channel]
    unit, maximum = limit_for(channel, language, override)
    minimum = spec.min_for(language)
    names = UNIT_NAMES
    if maximum < minimum:
        extra = " (a Chinese character counts as two)" if language == "zh" and unit == "width" else ""
        raise UserInputError(
            f"A limit of {maximum} {names[unit]} is too short for a {channel.replace('_', ' ')} in "
            f"{'Chinese' if language == 'zh' else 'English'}{extra}: at least {minimum} are needed.",
            hint=f"Raise the limit to {minimum} or more, or leave it empty for the channel's {spec.max_for(language)}.",
        )
    need = sum(measure(p, unit) for p in (required or []))
    if need and need >= maximum:
        raise UserInputError(
            f"The required phrases of the brand kit alone take {need} {names[unit]}, but the limit is {maximum}.",
            hint="Shorten the required phrases for this channel, or pick a channel with more room.",
        )


def _cut_words(text: str, unit: Unit, maximum: int, language: str) -> str:
    """The longest prefix that fits, cut at a word boundary (any character for CJK)."""
    if language == "zh" or has_cjk(text):
        out = ""
        for c in text:
            if measure(out + c, unit) > maximum:
                break
            out += c
        return out.rstrip(" ，,、；;：:")
    words = text.split()
    out = ""
    for w in words:
        cand = f"{out} {w}".strip()
        if measure(cand, unit) > maximum:
            break
        out = cand
    return out.rstrip(" ,;:-–—")


def enforce(text: str, channel: str, language: str, override: int | None = None) -> tuple[str, LimitCheck]:
    """Trim ``text`` to whole sentences that fit the channel limit (a cut at a word boundary as a last resort)."""
    unit, maximum = limit_for(channel, language, override)
    original = measure(text, unit)
    if original <= maximum:
        return text, LimitCheck(unit, original, maximum, original)
    joiner = "" if language == "zh" else " "
    kept = ""
    for sentence in split_sentences(text):
        cand = f"{kept}{joiner}{sentence}".strip() if kept else sentence
        if measure(cand, unit) > maximum:
            break
        kept = cand
    if kept:
        return kept, LimitCheck(unit, measure(kept, unit), maximum, original, trimmed=True)
    cut = _cut_words(text, unit, maximum, language)
    return cut, LimitCheck(unit, measure(cut, unit), maximum, original, trimmed=True, cut_mid_sentence=True)
