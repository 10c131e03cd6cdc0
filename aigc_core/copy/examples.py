"""Few-shot examples for the prompt: the brand's own approved copy first (favourite or 👍 variants in the
history, a brand kit's examples), then the hand-written examples shipped with the app, chosen by similarity to
the brief. Small models follow an example far better than an instruction."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aigc_core.copy.brief import Brief

EXAMPLES_FILE = Path(__file__).with_name("examples") / "examples.jsonl"
MAX_SCAN = 200  # newest history entries looked at for approved copy


@dataclass(frozen=True)
class Example:
    """A brief and the finished copy written for it."""

    channel: str
    language: str
    product: str
    key_points: tuple[str, ...]
    copy: str
    audience: str = ""
    tone: str = ""
    source: str = "built-in"  # built-in | brand kit | approved

    def brief(self) -> Brief:
        """The example's brief (prompt rendering)."""
        return Brief(
            product=self.product,
            key_points="\n".join(self.key_points),
            audience=self.audience,
            channel=self.channel,
            tone=self.tone if self.tone in ("", *_tones()) else "",
            language=self.language,
        )


def _tones() -> tuple[str, ...]:
    from aigc_core.copy.brief import TONES

    return tuple(TONES)


def _from_dict(d: dict[str, Any], source: str) -> Example | None:
    copy = str(d.get("copy") or d.get("text") or "").strip()
    if not copy or not d.get("channel"):
        return None
    points = d.get("key_points") or []
    if isinstance(points, str):
        points = [p.strip(" -•") for p in points.splitlines() if p.strip(" -•")]
    return Example(
        channel=str(d["channel"]),
        language=str(d.get("language") or "en"),
        product=str(d.get("product") or ""),
        key_points=tuple(str(p) for p in points),
        copy=copy,
        audience=str(d.get("audience") or ""),
        tone=str(d.get("tone") or ""),
        source=source,
    )


@functools.lru_cache(maxsize=1)
def builtin() -> tuple[Example, ...]:
    """The examples shipped with the app (written by hand for it)."""
    out = []
    for line in EXAMPLES_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip():
            ex = _from_dict(json.loads(line), "built-in")
            if ex is not None:
                out.append(ex)
    return tuple(out)


def approved(channel: str, language: str) -> list[Example]:
    """Favourite or 👍 variants of past generations for this channel and language, newest first."""
    from aigc_core.copy.history import list_history

    out = []
    for entry in list_history(limit=MAX_SCAN):
        b = entry.brief or {}
        if b.get("channel") != channel or b.get("language", "en") != language:
            continue
        for v in entry.variants:
            if v.get("favourite") or int(v.get("rating", 0)) > 0:
                ex = _from_dict({**b, "copy": v.get("text", "")}, "approved")
                if ex is not None:
                    out.append(ex)
    return out


def kit_examples(kit: Any, channel: str, language: str) -> list[Example]:
    """A brand kit's own example copy (``kit.examples``: dicts with channel, language, copy …)."""
    out = []
    for d in getattr(kit, "examples", None) or []:
        ex = _from_dict({"product": kit.name, **d}, "brand kit")
        if ex is not None and ex.channel in (channel, "*") and ex.language == language:
            out.append(Example(channel, language, ex.product, ex.key_points, ex.copy, source="brand kit"))
    return out


def select(brief: Brief, k: int = 2, *, kit: Any = None, use_history: bool = True) -> list[Example]:
    """Up to ``k`` examples for ``brief``: the brand's own (approved, brand kit) before the built-in ones,
    each group ordered by similarity of its brief to this one (a built-in example never for its own product)."""
    from aigc_core.copy.ranking import similarity

    query = brief.as_text()
    own: list[Example] = []
    if kit is not None:
        own.extend(kit_examples(kit, brief.channel, brief.language))
    if use_history:
        try:
            own.extend(approved(brief.channel, brief.language))
        except Exception:  # no store (CLI without a data dir): the built-in examples still work
            own = own[:]
    shipped = [e for e in builtin() if e.channel == brief.channel and e.language == brief.language]
    chosen: list[Example] = []
    seen: set[str] = set()
    for group in (own, shipped):
        ranked = sorted(group, key=lambda e: similarity(query, e.brief().as_text()), reverse=True)
        for ex in ranked:
            key = ex.copy.strip().lower()
            same_product = brief.product and ex.product.strip().lower() == brief.product.strip().lower()
            if key in seen or (group is shipped and same_product):
                continue
            seen.add(key)
            chosen.append(ex)
            if len(chosen) >= k:
                return chosen
    return chosen
