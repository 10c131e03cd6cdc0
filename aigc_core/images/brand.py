"""Brand-kit banned words applied to image prompts (the kits live in the store's BrandKit table)."""

from __future__ import annotations

import re

from sqlalchemy import select

from aigc_core.errors import NotFoundError, UserInputError
from aigc_core.store import BrandKit, session_scope


def _has_cjk(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" for ch in text)


def term_in(text: str, term: str) -> bool:
    """Case-insensitive whole-word match for Latin terms; substring for CJK terms (no spaces between words)."""
    term = term.strip()
    if not term:
        return False
    if _has_cjk(term):
        return term.lower() in text.lower()
    pattern = r"(?<![^\W_])" + r"\s+".join(re.escape(p) for p in term.split()) + r"(?![^\W_])"
    return re.search(pattern, text, re.I) is not None


def banned_words(kit: str | None = None) -> list[str]:
    """Banned words of one kit (name or id), or of every kit when ``kit`` is None."""
    with session_scope() as s:
        if kit:
            row = s.get(BrandKit, kit) or s.scalars(select(BrandKit).where(BrandKit.name == kit)).first()
            if row is None:
                raise NotFoundError(f"There is no brand kit {kit!r}.", hint="Pick an existing kit or none.")
            rows = [row]
        else:
            rows = list(s.scalars(select(BrandKit)))
        return [str(w) for r in rows for w in (r.banned or []) if str(w).strip()]


def check_prompt(prompt: str, kit: str | None = None) -> None:
    """UserInputError naming the brand kit's banned words found in ``prompt``."""
    found = [w for w in dict.fromkeys(banned_words(kit)) if term_in(prompt, w)]
    if found:
        raise UserInputError(
            "The prompt uses words your brand kit bans: " + ", ".join(f"“{w}”" for w in found) + ".",
            hint="Rephrase the prompt (the negative prompt may name them), or edit the brand kit on the Ad copy page.",
        )


def kit_names() -> list[str]:
    """Names of the brand kits (for the page's selector)."""
    with session_scope() as s:
        return list(s.scalars(select(BrandKit.name).order_by(BrandKit.name)))
