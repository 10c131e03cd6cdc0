"""Brand kits for images (the kits live in the store's BrandKit table): banned words applied to image prompts,
and the visual rules of ad creatives (logo, colours, font, safe margin), kept in the kit's ``meta["visual"]`` with
their files under ``<data_dir>/images/brand/<kit id>/``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from aigc_core.copy.guardrails import find_term
from aigc_core.errors import NotFoundError, UserInputError
from aigc_core.storage import atomic_write_bytes, folder
from aigc_core.store import BrandKit, session_scope
from aigc_core.store.lookup import get_by_id_or_name
from aigc_core.users.roles import Actor, require


def banned_words(kit: str | None = None) -> list[str]:
    """Banned words of one kit (name or id), or of every kit when ``kit`` is None."""
    with session_scope() as s:
        if kit:
            row = get_by_id_or_name(s, BrandKit, kit)
            if row is None:
                raise NotFoundError(f"There is no brand kit {kit!r}.", hint="Pick an existing kit or none.")
            rows = [row]
        else:
            rows = list(s.scalars(select(BrandKit)))
        return [str(w) for r in rows for w in (r.banned or []) if str(w).strip()]


def check_prompt(prompt: str, kit: str | None = None) -> None:
    """UserInputError naming the brand kit's banned words found in ``prompt``."""
    found = [w for w in dict.fromkeys(banned_words(kit)) if find_term(prompt, w) is not None]
    if found:
        raise UserInputError(
            "The prompt uses words your brand kit bans: " + ", ".join(f"“{w}”" for w in found) + ".",
            hint="Rephrase the prompt (the negative prompt may name them), or edit the brand kit on the Ad copy page.",
        )


# Visual rules ------------------------------------------------------------------------------------------
MAX_ASSET_BYTES = 20 * 2**20
DEFAULT_VISUAL: dict[str, Any] = {"primary": "#1a73e8", "text": "#ffffff", "accent": "#000000", "margin": 0.05}


@dataclass
class KitVisual:
    """A brand kit's visual rules with its files read, and the version that creatives record."""

    kit_id: str
    kit_name: str
    primary: str
    text: str
    accent: str
    margin: float
    logo: bytes | None
    font: bytes | None
    font_name: str
    version: str  # changes whenever the kit or its visual rules change

    def to_layout(self) -> Any:
        """The layout engine's Visual."""
        from aigc_core.images.layout import Visual

        return Visual(
            primary=self.primary,
            text=self.text,
            accent=self.accent,
            margin=self.margin,
            logo=self.logo,
            font=self.font,
            font_name=self.font_name,
        )

    def manifest(self) -> dict[str, Any]:
        """What a creative's manifest records about the kit (files by hash)."""
        return {
            "id": self.kit_id,
            "name": self.kit_name,
            "version": self.version,
            "primary": self.primary,
            "text": self.text,
            "accent": self.accent,
            "margin": self.margin,
            "logo_sha256": hashlib.sha256(self.logo).hexdigest() if self.logo else "",
            "font": self.font_name,
            "font_sha256": hashlib.sha256(self.font).hexdigest() if self.font else "",
        }


def _kit_row(s: Any, kit: str) -> BrandKit:
    row = get_by_id_or_name(s, BrandKit, kit)
    if row is None:
        raise NotFoundError(f"There is no brand kit {kit!r}.", hint="Create it on the Ad copy page first.")
    return row


def _asset_dir(kit_id: str) -> Path:
    return folder("images") / "brand" / kit_id


def _version(row: BrandKit, visual: dict[str, Any]) -> str:
    updated = row.updated_at.isoformat() if row.updated_at else ""
    digest = hashlib.sha256(repr((updated, sorted(visual.items()))).encode()).hexdigest()[:12]
    return f"{updated[:19]}#{digest}" if updated else digest


def get_visual(kit: str | None) -> KitVisual:
    """The visual rules of ``kit`` (name or id); the studio's defaults when ``kit`` is None or has none."""
    if not kit:
        return KitVisual("", "", **DEFAULT_VISUAL, logo=None, font=None, font_name="", version="default")
    with session_scope() as s:
        row = _kit_row(s, kit)
        visual = {**DEFAULT_VISUAL, **dict((row.meta or {}).get("visual") or {})}
        kit_id, name, version = row.id, row.name, _version(row, visual)
    base = _asset_dir(kit_id)

    def read(key: str) -> bytes | None:
        fname = visual.get(key)
        p = base / str(fname) if fname else None
        return p.read_bytes() if p is not None and p.is_file() else None

    return KitVisual(
        kit_id=kit_id,
        kit_name=name,
        primary=str(visual["primary"]),
        text=str(visual["text"]),
        accent=str(visual["accent"]),
        margin=float(visual["margin"]),
        logo=read("logo_file"),
        font=read("font_file"),
        font_name=str(visual.get("font_name") or ""),
        version=version,
    )


def save_visual(
    kit: str,
    *,
    primary: str | None = None,
    text: str | None = None,
    accent: str | None = None,
    margin: float | None = None,
    logo: bytes | None = None,
    font: bytes | None = None,
    font_name: str = "",
    remove_logo: bool = False,
    remove_font: bool = False,
    actor: Actor | None = None,
) -> KitVisual:
    """Set a kit's visual rules (its owner or an admin). Everything is validated before anything is written:
    a logo that is not an image or a font file that is not a font is a UserInputError."""
    from aigc_core.images.colour import parse_colour
    from aigc_core.images.fonts import load_font_bytes
    from aigc_core.images.layout import open_logo

    changes: dict[str, Any] = {}
    for key, value in (("primary", primary), ("text", text), ("accent", accent)):
        if value is not None:
            changes[key] = "#{:02x}{:02x}{:02x}".format(*parse_colour(value))
    if margin is not None:
        if not 0.0 <= float(margin) <= 0.2:
            raise UserInputError(
                f"The safe margin must be 0 to 20% of the short side, not {float(margin):.0%}.", hint="Try 5%."
            )
        changes["margin"] = float(margin)
    for data in (logo, font):
        if data is not None and len(data) > MAX_ASSET_BYTES:
            raise UserInputError("That file is larger than 20 MB.", hint="Upload a smaller logo or font file.")
    if logo is not None:
        open_logo(logo)
    if font is not None:
        load_font_bytes(font, what=f"The font file {font_name or ''}".strip())
    with session_scope() as s:
        row = _kit_row(s, kit)
        require(actor, "change", owner=row.owner or "", shared=True, what=f"The brand kit {row.name!r}")
        visual = dict((row.meta or {}).get("visual") or {})
        base = _asset_dir(row.id)
        if logo is not None:
            name = f"logo-{hashlib.sha256(logo).hexdigest()[:12]}.img"
            atomic_write_bytes(base / name, logo)
            changes["logo_file"] = name
        elif remove_logo:
            changes["logo_file"] = ""
        if font is not None:
            name = f"font-{hashlib.sha256(font).hexdigest()[:12]}.font"
            atomic_write_bytes(base / name, font)
            changes["font_file"] = name
            changes["font_name"] = Path(font_name).name if font_name else "brand font"
        elif remove_font:
            changes["font_file"] = changes["font_name"] = ""
        row.meta = {**(row.meta or {}), "visual": {**visual, **changes}}
        row.updated_at = datetime.now(UTC)
        kit_id = row.id
    return get_visual(kit_id)
