"""Text that fits its box: line-break opportunities (Latin words, CJK characters with kinsoku), wrapping and
shrink-to-fit, truncation as the last resort."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from aigc_core.cjk import CJK_CHARS
from aigc_core.images.fonts import FontSource

_BREAKS = re.compile(rf"[^\s{CJK_CHARS}]+\s*|\S\s*|\s+")  # a Latin word, or one other character


NO_LINE_START = set("，。、！？；：）」』】》〉”’,.!?;:)]}…%·ー〜")
NO_LINE_END = set("（「『【《〈“‘([{")


def tokens(text: str) -> list[str]:
    """Break opportunities: Latin words (with their trailing space), single CJK characters with closing
    punctuation kept on them and opening punctuation kept with what follows (kinsoku)."""
    raw = _BREAKS.findall(text)
    out: list[str] = []
    for t in raw:
        closing = bool(t.strip()) and t.strip()[0] in NO_LINE_START
        after_opening = bool(out) and bool(out[-1].strip()) and out[-1].rstrip()[-1] in NO_LINE_END
        if out and (closing or after_opening):
            out[-1] += t
        else:
            out.append(t)
    return [t for t in out if t.strip()] or []


def _width(font: Any, text: str) -> float:
    return float(font.getlength(text))


def wrap(text: str, font: Any, max_width: float) -> list[str] | None:
    """Lines of ``text`` no wider than ``max_width``, or None when one token alone is too wide."""
    lines: list[str] = []
    line = ""
    for tok in tokens(text):
        candidate = line + tok
        if _width(font, candidate.rstrip()) <= max_width:
            line = candidate
            continue
        if line:
            lines.append(line.rstrip())
        if _width(font, tok.rstrip()) > max_width:
            return None
        line = tok
    if line.strip():
        lines.append(line.rstrip())
    return lines


@dataclass
class FittedText:
    """Text fitted into a box: its lines, font size and line height, and whether it had to be shortened."""

    lines: list[str]
    size: int
    line_height: int
    truncated: bool = False

    def extent(self, font: Any) -> tuple[int, int]:
        """(top, bottom) of the drawn pixels relative to the first line's origin."""
        return _extent(self.lines, font, self.line_height)


LINE_SPACING = 1.2


def _extent(lines: list[str], font: Any, lh: int) -> tuple[int, int]:
    """(top, bottom) of the ink of ``lines`` drawn ``lh`` apart, from the font's real glyph boxes."""
    if not lines:
        return 0, 0
    boxes = [font.getbbox(ln) for ln in lines]
    return min(i * lh + b[1] for i, b in enumerate(boxes)), max(i * lh + b[3] for i, b in enumerate(boxes))


def _block_fits(lines: list[str], font: Any, size: int, box_w: float, box_h: float) -> bool:
    if not lines:
        return True
    lh = math.ceil(size * LINE_SPACING)
    widest = max(ink_width(font, ln) for ln in lines)
    top, bottom = _extent(lines, font, lh)
    return widest <= box_w and bottom - top <= box_h


def ink_width(font: Any, line: str) -> float:
    """Width of the drawn pixels of ``line`` (at least its advance width)."""
    left, _, right, _ = font.getbbox(line)
    return max(float(right), _width(font, line)) - min(0.0, float(left))


def fit_text(
    text: str, source: FontSource, box_w: int, box_h: int, *, max_size: int, min_size: int = 8, max_lines: int = 4
) -> FittedText:
    """The largest font size (≤ ``max_size``) at which ``text`` wraps into the box in at most ``max_lines`` lines;
    at ``min_size`` the text is shortened with an ellipsis so it never overflows."""
    text = " ".join(text.split())
    max_size = max(min_size, max_size)
    lo, hi, best = min_size, max_size, None
    while lo <= hi:  # binary search: the fit is monotone in the size
        mid = (lo + hi) // 2
        font = source.at(mid)
        lines = wrap(text, font, box_w)
        if lines is not None and len(lines) <= max_lines and _block_fits(lines, font, mid, box_w, box_h):
            best = FittedText(lines, mid, math.ceil(mid * LINE_SPACING))
            lo = mid + 1
        else:
            hi = mid - 1
    if best is not None:
        return best
    return _truncate(text, source, box_w, box_h, min_size, max_lines)


def _truncate(text: str, source: FontSource, box_w: int, box_h: int, size: int, max_lines: int) -> FittedText:
    """``text`` cut (with '…') to what fits at ``size``; as a last resort fewer lines or nothing."""
    font = source.at(size)
    lh = math.ceil(size * LINE_SPACING)
    n_lines = max(0, min(max_lines, int(box_h // lh)))
    chars = list(text)
    lo, hi, best_lines = 0, len(chars), []
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = "".join(chars[:mid]).rstrip() + "…"
        lines = _hard_wrap(candidate, font, box_w)
        if lines is not None and len(lines) <= n_lines and _block_fits(lines, font, size, box_w, box_h):
            best_lines = lines
            lo = mid + 1
        else:
            hi = mid - 1
    return FittedText(best_lines, size, lh, truncated=True)


def _hard_wrap(text: str, font: Any, max_width: float) -> list[str] | None:
    """Wrap at tokens, breaking a too-wide token between characters."""
    lines = wrap(text, font, max_width)
    if lines is not None:
        return lines
    out: list[str] = []
    line = ""
    for ch in text:
        if ink_width(font, (line + ch).strip()) <= max_width:
            line += ch
        else:
            if not line.strip():
                return None
            out.append(line.strip())
            line = ch
    if line.strip():
        out.append(line.strip())
    return out
