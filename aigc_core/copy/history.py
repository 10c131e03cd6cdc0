"""History of ad copy generations (Generation rows of kind "copy"): save, search, rate, favourite, export,
and favourites as training examples for the brand-voice fine-tune."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from aigc_core.errors import NotFoundError, UserInputError
from aigc_core.store import Generation, session_scope
from aigc_core.store.models import as_utc
from aigc_core.users.roles import Action, Actor, current, owned_row, require, share_row, visible_filter

if TYPE_CHECKING:
    from aigc_core.copy.generate import CopyResult

KIND = "copy"
EXPORT_FORMATS = ("csv", "json", "markdown")
TRAINING_DATASET = "brand-voice examples"
EXPORT_COLUMNS = (
    "generation_id",
    "variant",
    "product",
    "channel",
    "language",
    "text",
    "covered_points",
    "within_limits",
    "violations",
    "rating",
    "favourite",
    "model",
    "seed",
    "created_at",
)


@dataclass
class HistoryEntry:
    """One stored generation: its brief, model, params, seed and the variants with their scores."""

    id: str
    created_at: datetime
    brief: dict[str, Any]
    model: str
    model_revision: str
    params: dict[str, Any]
    seed: int | None
    variants: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    job_id: str | None = None
    template: str = ""
    owner: str = ""
    shared: bool = False


def _entry(row: Generation) -> HistoryEntry:
    meta = dict(row.meta or {})
    return HistoryEntry(
        id=row.id,
        created_at=as_utc(row.created_at) or datetime.now(UTC),
        brief=dict(meta.get("brief") or {}),
        model=row.model,
        model_revision=row.model_revision,
        params=dict(row.params or {}),
        seed=row.seed,
        variants=[dict(v) for v in row.outputs or []],
        notes=list(meta.get("notes") or []),
        job_id=row.job_id,
        template=str(meta.get("template", "")),
        owner=row.owner or "",
        shared=bool(row.shared),
    )


def save_result(result: CopyResult, *, job_id: str | None = None, actor: Actor | None = None) -> str:
    """Store a generation owned by the acting user (private until shared); returns its id."""
    who = require(actor, "create", what="ad copy")
    brief = result.brief
    with session_scope() as s:
        row = Generation(
            kind=KIND,
            owner=who.name,
            model=result.model,
            model_revision=result.model_revision,
            prompt=brief.as_text(),
            params=result.params,
            outputs=[v.to_dict() for v in result.variants],
            seed=result.seed,
            job_id=job_id,
            meta={
                "brief": brief.model_dump(),
                "notes": result.notes,
                "template": result.template,
                "prompt_tokens": result.prompt_tokens,
                "cut_tokens": result.cut_tokens,
                "new_tokens": result.new_tokens,
                "seconds": round(result.seconds, 3),
                "first_token_s": result.first_token_s,
            },
        )
        s.add(row)
        s.flush()
        return row.id


SEARCH_WINDOW = 5000  # newest generations scanned by a text search


def _haystack(row: Generation) -> str:
    texts = [row.prompt or "", *(str(v.get("text", "")) for v in row.outputs or [])]
    return "\n".join(texts).lower()


def list_history(
    search: str = "",
    *,
    favourites_only: bool = False,
    limit: int = 50,
    offset: int = 0,
    actor: Actor | None = None,
) -> list[HistoryEntry]:
    """The acting user's generations and shared ones (admins: all), newest first; every word of ``search`` must
    occur in the brief or a variant (any case; matched in Python so Chinese text is found too — JSON columns
    store it escaped)."""
    who = current(actor)
    words = [w.lower() for w in (search or "").split()]
    with session_scope() as s:
        q = select(Generation).where(Generation.kind == KIND, visible_filter(who, Generation.owner, Generation.shared))
        if favourites_only:
            q = q.where(Generation.favourite.is_(True))
        q = q.order_by(Generation.created_at.desc())
        if not words:
            return [_entry(r) for r in s.scalars(q.limit(limit).offset(offset))]
        hits = [r for r in s.scalars(q.limit(SEARCH_WINDOW)) if all(w in _haystack(r) for w in words)]
        return [_entry(r) for r in hits[offset : offset + limit]]


def _missing(generation_id: str) -> NotFoundError:
    return NotFoundError(f"There is no ad copy generation {generation_id!r}.", hint="Pick one from History.")


def _row(s: Any, generation_id: str, action: Action, actor: Actor | None) -> Generation:
    return owned_row(
        s,
        Generation,
        generation_id,
        action,
        actor,
        kind="generation",
        not_found=_missing(generation_id),
        where=lambda r: r.kind == KIND,
    )


def get_entry(generation_id: str, *, actor: Actor | None = None) -> HistoryEntry:
    """One generation the acting user may see; NotFoundError when missing or private to another."""
    with session_scope() as s:
        return _entry(_row(s, generation_id, "read", actor))


def set_shared(generation_id: str, shared: bool = True, *, actor: Actor | None = None) -> HistoryEntry:
    """Share a generation with the team, or make it private again (its owner or an admin)."""
    return share_row(
        Generation,
        generation_id,
        shared,
        actor,
        kind="generation",
        not_found=_missing(generation_id),
        to_info=_entry,
        where=lambda r: r.kind == KIND,
    )


def _update_variant(generation_id: str, index: int, *, actor: Actor | None = None, **changes: Any) -> HistoryEntry:
    with session_scope() as s:
        row = _row(s, generation_id, "change", actor)
        outputs = [dict(v) for v in row.outputs or []]
        if not 0 <= index < len(outputs):
            raise UserInputError(f"Generation {generation_id} has no variant {index + 1}.", hint="Pick a listed one.")
        outputs[index].update(changes)
        row.outputs = outputs  # a new list so the JSON column is written
        row.favourite = any(v.get("favourite") for v in outputs)
        ratings = [int(v.get("rating", 0)) for v in outputs]
        row.rating = 1 if 1 in ratings else (-1 if -1 in ratings else 0)
        s.flush()
        return _entry(row)


def rate(generation_id: str, index: int, rating: int, *, actor: Actor | None = None) -> HistoryEntry:
    """Set 👍 (+1), 👎 (-1) or no rating (0) on one variant (of your own generation)."""
    if rating not in (-1, 0, 1):
        raise UserInputError("A rating is -1, 0 or +1.", hint="Use 👍 or 👎.")
    return _update_variant(generation_id, index, actor=actor, rating=rating)


def set_favourite(
    generation_id: str, index: int, favourite: bool = True, *, actor: Actor | None = None
) -> HistoryEntry:
    """Mark or unmark one variant as a favourite (of your own generation)."""
    return _update_variant(generation_id, index, actor=actor, favourite=bool(favourite))


def favourites(limit: int = 1000, *, actor: Actor | None = None) -> list[tuple[HistoryEntry, int]]:
    """(entry, variant index) of every favourite variant the acting user may see, newest first."""
    out: list[tuple[HistoryEntry, int]] = []
    for entry in list_history(favourites_only=True, limit=limit, actor=actor):
        out.extend((entry, i) for i, v in enumerate(entry.variants) if v.get("favourite"))
    return out


# Export ------------------------------------------------------------------------------------------
def export_rows(items: list[tuple[HistoryEntry, int]]) -> list[dict[str, Any]]:
    """Flat rows of the chosen (entry, variant index) pairs."""
    rows = []
    for entry, i in items:
        v = entry.variants[i]
        rows.append(
            {
                "generation_id": entry.id,
                "variant": i + 1,
                "product": entry.brief.get("product", ""),
                "channel": entry.brief.get("channel", ""),
                "language": entry.brief.get("language", ""),
                "text": v.get("text", ""),
                "covered_points": "; ".join((v.get("checks") or {}).get("covered_points") or []),
                "within_limits": bool((v.get("limit") or {}).get("ok", False)),
                "violations": "; ".join(x.get("reason", "") for x in v.get("violations") or []),
                "rating": v.get("rating", 0),
                "favourite": bool(v.get("favourite", False)),
                "model": entry.model,
                "seed": entry.seed,
                "created_at": entry.created_at.isoformat(),
            }
        )
    return rows


def export(items: list[tuple[HistoryEntry, int]], fmt: str) -> bytes:
    """The chosen variants as CSV, JSON or Markdown (UTF-8; the CSV has a BOM so Excel reads Chinese)."""
    fmt = fmt.lower()
    if fmt not in EXPORT_FORMATS:
        raise UserInputError(f"Unknown export format {fmt!r}.", hint=f"Use one of {', '.join(EXPORT_FORMATS)}.")
    if not items:
        raise UserInputError("No variants are selected for export.", hint="Tick the variants to export first.")
    rows = export_rows(items)
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2).encode("utf-8")
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(EXPORT_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
        return ("\ufeff" + buf.getvalue()).encode("utf-8")
    lines = ["# Ad copy export", ""]
    for r in rows:
        lines.append(f"## {r['product'] or 'Untitled'} — {r['channel']} (variant {r['variant']})")
        lines.append("")
        lines.append(f"> {r['text']}")
        lines.append("")
        lines.append(
            f"- covers: {r['covered_points'] or '(not checked)'} · within limits: "
            f"{'yes' if r['within_limits'] else 'no'} · model: {r['model']} · seed: {r['seed']}"
        )
        if r["violations"]:
            lines.append(f"- violations: {r['violations']}")
        lines.append("")
    return "\n".join(lines).encode("utf-8")


def parse_export(data: bytes, fmt: str) -> list[dict[str, Any]]:
    """Read back an export made by :func:`export` (CSV or JSON) — round-trip checks and re-import."""
    if fmt == "json":
        return json.loads(data.decode("utf-8"))
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    raise UserInputError(f"Cannot read back {fmt!r} exports.", hint="Use csv or json.")


# Training examples ---------------------------------------------------------------------------------
def training_pairs(items: list[tuple[HistoryEntry, int]]) -> list[dict[str, str]]:
    """(prompt = the brief rendered as text, completion = the variant) pairs."""
    from aigc_core.copy.brief import Brief

    pairs = []
    for entry, i in items:
        known = {k: v for k, v in entry.brief.items() if k in Brief.model_fields}
        prompt = Brief.model_validate(known).as_text() if known else ""
        text = str(entry.variants[i].get("text", "")).strip()
        if prompt and text:
            pairs.append({"prompt": prompt, "completion": text})
    return pairs


def add_training_examples(
    items: list[tuple[HistoryEntry, int]] | None = None, *, dataset_name: str = TRAINING_DATASET
) -> str:
    """Append the variants (default: all favourites) to a new version of the brand-voice dataset.

    The version holds all earlier examples plus the new ones (deduplicated), columns ``prompt`` (the brief as
    text) and ``completion`` (the copy), roles ``{"text": "completion"}`` and ``meta.prompt_column = "prompt"``
    (the fine-tune's prompt column). Saved through ``aigc_core.data`` versions; returns the new version id."""
    import pandas as pd

    items = favourites() if items is None else items
    pairs = training_pairs(items)
    if not pairs:
        raise UserInputError(
            "There are no favourite variants to use as training examples.", hint="Mark the best variants with ☆ first."
        )
    frame = pd.DataFrame(pairs, columns=["prompt", "completion"])
    from aigc_core import data as data_api

    existing = next((d for d in data_api.list_datasets() if d.name == dataset_name), None)
    if existing is None:
        existing = data_api.create_dataset(
            dataset_name, "Favourite ad copy (brief -> copy) for the brand-voice fine-tune."
        )
    versions = data_api.list_versions(existing.id)
    parent = versions[0] if versions else None
    if parent is not None:
        old = data_api.load_version(parent.id)
        if {"prompt", "completion"} <= set(old.columns):
            frame = pd.concat([old[["prompt", "completion"]], frame], ignore_index=True)
    frame = frame.drop_duplicates(ignore_index=True)
    info = data_api.save_version(
        existing.id,
        frame,
        kind="synthetic",
        parent_id=parent.id if parent else None,
        roles={"text": "completion"},
        source={"from": "ad_copy favourites", "added": len(pairs)},
        meta={"prompt_column": "prompt"},
    )
    return info.id


# Feedback on variants (used, 👍/👎, edits) ----------------------------------------------------------
FEEDBACK_ACTIONS = ("used", "unused", "up", "down", "unrated", "edit")
MAX_EDIT_CHARS = 5000


def _apply_feedback(variant: dict[str, Any], action: str, text: str, who: str) -> None:
    """Change one stored variant's feedback state in place (edits append a version; the original text stays)."""
    if action in ("used", "unused"):
        variant["used"] = action == "used"
    elif action in ("up", "down", "unrated"):
        variant["rating"] = {"up": 1, "down": -1, "unrated": 0}[action]
    else:
        versions = list(variant.get("versions") or [])
        versions.append(
            {"version": len(versions) + 2, "text": text, "by": who, "at": datetime.now(UTC).isoformat()}
        )  # version 1 is the generated text
        variant["versions"] = versions


def record_feedback(
    generation_id: str, index: int, action: str, text: str = "", *, actor: Actor | None = None
) -> HistoryEntry:
    """Mark one variant used/unused, 👍/👎/unrated, or keep an edit as its new version (of your own generation).

    Every call also stores a ``CopyFeedback`` row owned by the acting user, with the brief's brand kit, the model
    and its revision, and the generation's settings, so counts and preference data keep what was judged."""
    from aigc_core.store.models import CopyFeedback

    if action not in FEEDBACK_ACTIONS:
        raise UserInputError(f"Unknown feedback {action!r}.", hint=f"Use one of {', '.join(FEEDBACK_ACTIONS)}.")
    text = (text or "").strip()
    if action == "edit":
        if not text:
            raise UserInputError("The edited copy is empty.", hint="Type the copy as you would publish it.")
        if len(text) > MAX_EDIT_CHARS:
            raise UserInputError(f"The edit is longer than {MAX_EDIT_CHARS} characters.", hint="Shorten it.")
    else:
        text = ""
    with session_scope() as s:
        row = _row(s, generation_id, "change", actor)
        who = current(actor)
        outputs = [dict(v) for v in row.outputs or []]
        if not 0 <= index < len(outputs):
            raise UserInputError(f"Generation {generation_id} has no variant {index + 1}.", hint="Pick a listed one.")
        variant = outputs[index]
        latest = (variant.get("versions") or [{}])[-1].get("text") or variant.get("text", "")
        if action == "edit" and text == str(latest).strip():
            raise UserInputError("The edit is the same as the current copy.", hint="Change the text first.")
        _apply_feedback(variant, action, text, who.name)
        row.outputs = outputs  # a new list so the JSON column is written
        ratings = [int(v.get("rating", 0)) for v in outputs]
        row.rating = 1 if 1 in ratings else (-1 if -1 in ratings else 0)
        meta = dict(row.meta or {})
        s.add(
            CopyFeedback(
                generation_id=row.id,
                variant=index,
                owner=who.name,
                action=action,
                text=text,
                brand_kit=str((meta.get("brief") or {}).get("brand_kit") or ""),
                model=row.model,
                model_revision=row.model_revision,
                meta={"brief": meta.get("brief") or {}, "params": dict(row.params or {}), "seed": row.seed},
            )
        )
        s.flush()
        return _entry(row)


def latest_text(variant: dict[str, Any]) -> str:
    """The variant's newest text: its last edit, or the generated text."""
    versions = variant.get("versions") or []
    return str(versions[-1].get("text") if versions else variant.get("text", ""))
