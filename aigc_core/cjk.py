"""What counts as CJK text, declared once for every feature: Han ideographs, kana and hangul by code point.

Ad copy (channel limits, brand terms), Images (font choice for creatives) and Support replies (Chinese word
segmentation, reply language) all ask these functions, so a brand kit's term or a text is judged the same way on
every page. ``han`` is the Chinese-only subset (what jieba segments and what makes a text Chinese).
"""

from __future__ import annotations

HAN_RANGES: tuple[tuple[int, int], ...] = (
    (0x3400, 0x4DBF),  # extension A
    (0x4E00, 0x9FFF),  # unified ideographs
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0x20000, 0x2FA1F),  # extensions B and later, compatibility supplement
)
CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x3040, 0x30FF),  # hiragana and katakana
    *HAN_RANGES,
    (0xAC00, 0xD7AF),  # hangul syllables
)


def _class_body(ranges: tuple[tuple[int, int], ...]) -> str:
    return "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges)


CJK_CHARS = _class_body(CJK_RANGES)  # the inside of a regular-expression character class: [^\s{CJK_CHARS}]
HAN_CLASS = "[" + _class_body(HAN_RANGES) + "]"  # a regular-expression character class of the Han ranges
CJK_CLASS = "[" + CJK_CHARS + "]"


def _within(ch: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in ranges)


def is_cjk(ch: str) -> bool:
    """True for a CJK ideograph, kana or hangul character."""
    return _within(ch, CJK_RANGES)


def has_cjk(text: str) -> bool:
    """True when ``text`` holds at least one CJK character."""
    return any(is_cjk(c) for c in text or "")


def is_han(ch: str) -> bool:
    """True for a Chinese (Han) character."""
    return _within(ch, HAN_RANGES)


def has_han(text: str) -> bool:
    """True when ``text`` holds at least one Chinese (Han) character."""
    return any(is_han(c) for c in text or "")
