"""Brand kits (stored in the BrandKit table) and the checks every variant goes through.

Kits are team resources: everyone reads and uses every kit; editors and admins create them; only a kit's owner or
an admin changes or deletes it."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from aigc_core.cjk import has_cjk
from aigc_core.copy.brief import CHANNELS
from aigc_core.errors import NotFoundError, UserInputError
from aigc_core.store import BrandKit, session_scope
from aigc_core.store.lookup import get_by_id_or_name
from aigc_core.store.models import as_utc
from aigc_core.users.audit import record
from aigc_core.users.roles import Actor, allowed, current, require

DEFAULT_BANNED = ["guaranteed", "risk-free", "cure", "100% effective", "保证", "无风险", "治愈", "根治"]
ALL_CHANNELS = "*"  # key of ``required`` that applies to every channel


@dataclass
class Kit:
    """A brand kit as plain data: voice, banned words/claims, required phrases per channel, competitors."""

    name: str
    voice: str = ""
    banned: list[str] = field(default_factory=list)
    required: dict[str, list[str]] = field(default_factory=dict)
    competitors: list[str] = field(default_factory=list)
    examples: list[dict[str, str]] = field(default_factory=list)  # approved copy: {channel, language, copy}
    id: str = ""
    updated_at: datetime | None = None
    owner: str = ""

    def required_for(self, channel: str) -> list[str]:
        """Required phrases of ``channel`` plus those for every channel."""
        return [*self.required.get(ALL_CHANNELS, []), *self.required.get(channel, [])]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (export, session state)."""
        d = asdict(self)
        d["updated_at"] = self.updated_at.isoformat() if self.updated_at else None
        return d


@dataclass
class Violation:
    """One broken rule, with the matched text and a reason a marketer understands."""

    kind: str  # banned | competitor | missing_required
    term: str
    reason: str
    start: int = -1
    end: int = -1


def _clean_list(values: Any) -> list[str]:
    if isinstance(values, str):
        values = re.split(r"[\n,;，；]", values)
    out: list[str] = []
    for v in values or []:
        v = str(v).strip()
        if v and v.lower() not in {o.lower() for o in out}:
            out.append(v)
    return out


def _clean_required(required: Any) -> dict[str, list[str]]:
    if not required:
        return {}
    if not isinstance(required, dict):
        raise UserInputError("Required phrases must be given per channel.", hint="Use {channel: [phrases]}.")
    out: dict[str, list[str]] = {}
    for channel, phrases in required.items():
        if channel != ALL_CHANNELS and channel not in CHANNELS:
            raise UserInputError(
                f"Unknown channel {channel!r} in the required phrases.",
                hint=f"Use one of {', '.join(CHANNELS)} or '*' for every channel.",
            )
        cleaned = _clean_list(phrases)
        if cleaned:
            out[channel] = cleaned
    return out


def _clean_examples(examples: Any) -> list[dict[str, str]]:
    """Approved example copy: a list of {channel, language, copy} (text lines count for every channel)."""
    if isinstance(examples, str):
        examples = [{"channel": "*", "copy": line} for line in examples.splitlines() if line.strip()]
    out: list[dict[str, str]] = []
    for ex in examples or []:
        if not isinstance(ex, dict) or not str(ex.get("copy", "")).strip():
            raise UserInputError(
                "Each example needs its copy text.", hint="Give {channel, language, copy} per example."
            )
        channel = str(ex.get("channel") or ALL_CHANNELS)
        if channel != ALL_CHANNELS and channel not in CHANNELS:
            raise UserInputError(
                f"Unknown channel {channel!r} in an example.", hint=f"Use one of {', '.join(CHANNELS)}."
            )
        out.append({"channel": channel, "language": str(ex.get("language") or "en"), "copy": str(ex["copy"]).strip()})
    return out


def _to_kit(row: BrandKit) -> Kit:
    updated = as_utc(row.updated_at)
    return Kit(
        name=row.name,
        voice=row.voice or "",
        banned=list(row.banned or []),
        required={k: list(v) for k, v in (row.required or {}).items()},
        competitors=list(row.competitors or []),
        examples=list((row.meta or {}).get("examples") or []),
        id=row.id,
        updated_at=updated,
        owner=row.owner or "",
    )


def _may_change(row: BrandKit, actor: Actor | None) -> Actor:
    """The acting user, when they may change or delete this kit (its owner or an admin); else
    PermissionDeniedError (audited)."""
    return require(
        actor,
        "change",
        owner=row.owner or "",
        shared=True,
        what=f"The brand kit {row.name!r}",
        kind="brand_kit",
        item_id=row.id,
    )


def can_change_kit(kit: Kit, *, actor: Actor | None = None) -> bool:
    """True when the acting user may change or delete ``kit`` (its owner or an admin)."""
    return allowed(current(actor), "change", owner=kit.owner, shared=True)


# CRUD ------------------------------------------------------------------------------------------
def list_kits() -> list[Kit]:
    """Every brand kit, by name (kits are the team's: everyone sees all)."""
    with session_scope() as s:
        return [_to_kit(r) for r in s.scalars(select(BrandKit).order_by(BrandKit.name))]


def kit_names() -> list[str]:
    """Names of every brand kit, sorted (the kit pickers of all pages; like ``list_kits``, the team's kits)."""
    with session_scope() as s:
        return list(s.scalars(select(BrandKit.name).order_by(BrandKit.name)))


def get_kit(name_or_id: str) -> Kit:
    """A kit by name or id; NotFoundError when it does not exist."""
    with session_scope() as s:
        row = get_by_id_or_name(s, BrandKit, name_or_id)
        if row is None:
            raise NotFoundError(f"There is no brand kit {name_or_id!r}.", hint="Create it in the Brand kit tab.")
        return _to_kit(row)


def save_kit(
    name: str,
    *,
    voice: str = "",
    banned: Any = None,
    required: Any = None,
    competitors: Any = None,
    examples: Any = None,
    kit_id: str | None = None,
    actor: Actor | None = None,
) -> Kit:
    """Create or update a kit (by id when given, else by name). Lists may be given as comma/line separated text.

    Creating needs the create right (not viewers) and makes the acting user the owner; changing a kit is for its
    owner or an admin."""
    who = current(actor)
    name = (name or "").strip()
    if not name:
        raise UserInputError("A brand kit needs a name.", hint="Type a name, e.g. your brand.")
    if len(name) > 200:
        raise UserInputError("The brand kit name is too long.", hint="Use at most 200 characters.")
    values = {
        "name": name,
        "voice": (voice or "").strip(),
        "banned": _clean_list(banned),
        "required": _clean_required(required),
        "competitors": _clean_list(competitors),
    }
    with session_scope() as s:
        row = s.get(BrandKit, kit_id) if kit_id else s.scalars(select(BrandKit).where(BrandKit.name == name)).first()
        clash = s.scalars(select(BrandKit).where(BrandKit.name == name)).first()
        if clash is not None and row is not None and clash.id != row.id:
            raise UserInputError(f"Another brand kit is already named {name!r}.", hint="Pick another name.")
        if row is None:
            require(who, "create", what="brand kits", kind="brand_kit")
            row = BrandKit(**values, owner=who.name)
            s.add(row)
        else:
            _may_change(row, who)
            for k, v in values.items():
                setattr(row, k, v)
            row.updated_at = datetime.now(UTC)
        if examples is not None:
            row.meta = {**(row.meta or {}), "examples": _clean_examples(examples)}
        s.flush()
        return _to_kit(row)


def delete_kit(name_or_id: str, *, actor: Actor | None = None) -> None:
    """Delete a kit (its owner or an admin; past generations keep their stored checks)."""
    kit = get_kit(name_or_id)
    with session_scope() as s:
        row = s.get(BrandKit, kit.id)
        if row is None:
            return
        who = _may_change(row, actor)
        s.delete(row)
    record(who, "brand_kit.delete", "brand_kit", kit.id, detail={"name": kit.name, "owner": kit.owner})


# Checks ----------------------------------------------------------------------------------------
def find_term(text: str, term: str) -> tuple[int, int] | None:
    """Span of ``term`` in ``text``: case-insensitive and word-boundary aware for Latin terms, a plain
    substring for terms with CJK characters (Chinese has no spaces between words; CJK as :func:`aigc_core.cjk.is_cjk`).
    The one brand-kit term matcher: Ad copy checks and image prompts (``images.brand``) both use it."""
    term = term.strip()
    if not term:
        return None
    if has_cjk(term):
        i = text.lower().find(term.lower())
        return (i, i + len(term)) if i >= 0 else None
    pattern = re.compile(r"(?<![^\W_])" + r"\s+".join(re.escape(p) for p in term.split()) + r"(?![^\W_])", re.I)
    m = pattern.search(text)
    return (m.start(), m.end()) if m else None


def check(text: str, kit: Kit | None, channel: str) -> list[Violation]:
    """Every rule of ``kit`` that ``text`` breaks (empty when it is clean or there is no kit)."""
    if kit is None:
        return []
    out: list[Violation] = []
    for term in kit.banned:
        span = find_term(text, term)
        if span:
            out.append(Violation("banned", term, f"Uses the banned word or claim “{term}”.", *span))
    for name in kit.competitors:
        span = find_term(text, name)
        if span:
            out.append(Violation("competitor", name, f"Names the competitor “{name}”.", *span))
    for phrase in kit.required_for(channel):
        if find_term(text, phrase) is None:
            out.append(Violation("missing_required", phrase, f"Lacks the required phrase “{phrase}” for this channel."))
    return out


def highlight(text: str, violations: list[Violation]) -> str:
    """Markdown of ``text`` with each matched violation marked (for the page)."""
    spans = sorted((v.start, v.end) for v in violations if v.start >= 0)
    out, pos = [], 0
    for start, end in spans:
        if start < pos:
            continue
        out.append(_md_escape(text[pos:start]))
        out.append(f":red-background[{_md_escape(text[start:end])}]")
        pos = end
    out.append(_md_escape(text[pos:]))
    return "".join(out)


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<>#|~$])", r"\\\1", text)
