"""The gallery: every image as a PNG (settings in its text chunks) under ``<data_dir>/images/`` plus a
``generations`` row (kind ``image``); filters, favourites, delete, zip, reproduce and vary."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from aigc_core.errors import NotFoundError, UserInputError
from aigc_core.images import lora
from aigc_core.images.metadata import open_image, read_png_settings, sha256_bytes
from aigc_core.images.request import ImageRequest, ImageResult
from aigc_core.storage import atomic_write_bytes, folder, safe_child
from aigc_core.store import Generation, session_scope
from aigc_core.store.models import as_utc, new_id, utcnow
from aigc_core.users.audit import record
from aigc_core.users.roles import Action, Actor, current, owned_row, require, share_row, visible_filter

KIND = "image"
SOURCES = "sources"


@dataclass
class GalleryItem:
    """One saved image and its settings."""

    id: str
    path: str
    prompt: str
    model: str
    model_revision: str
    seed: int | None
    favourite: bool
    rating: int
    created_at: datetime
    settings: dict[str, Any]
    job_id: str | None = None
    owner: str = ""
    shared: bool = False

    @property
    def style(self) -> str:
        """Style preset name ('' when none)."""
        return str(self.settings.get("style") or "")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return int(self.settings.get("width") or 0), int(self.settings.get("height") or 0)

    def thumbnail(self) -> bytes:
        """A small JPEG for the grid (the PNG when the thumbnail is missing)."""
        thumb = thumb_path(Path(self.path))
        return thumb.read_bytes() if thumb.is_file() else self.png()

    def png(self) -> bytes:
        """The PNG file's bytes; NotFoundError when the file is gone."""
        p = Path(self.path)
        if not p.is_file():
            raise NotFoundError(f"The image file of {self.id} is missing.", hint="Delete the entry from the gallery.")
        return p.read_bytes()


def _to_item(row: Generation) -> GalleryItem:
    return GalleryItem(
        id=row.id,
        path=row.path,
        prompt=row.prompt,
        model=row.model,
        model_revision=row.model_revision,
        seed=row.seed,
        favourite=bool(row.favourite),
        rating=int(row.rating or 0),
        created_at=as_utc(row.created_at),
        settings=dict(row.params or {}),
        job_id=row.job_id,
        owner=row.owner or "",
        shared=bool(row.shared),
    )


# Saving ------------------------------------------------------------------------------------------
THUMB_SIDE = 320


def thumb_path(png_path: Path) -> Path:
    """Where the grid thumbnail of an image lives (beside its PNG)."""
    return png_path.with_name(png_path.stem + ".thumb.jpg")


def _write_thumbnail(png: bytes, path: Path) -> None:
    with open_image(png) as img:
        img = img.convert("RGB")
        img.thumbnail((THUMB_SIDE, THUMB_SIDE))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=85)
    atomic_write_bytes(thumb_path(path), buf.getvalue())


def save_png(
    png: bytes, settings: dict[str, Any], *, job_id: str | None = None, actor: Actor | None = None
) -> tuple[str, str]:
    """Write ``png`` atomically and add its ``generations`` row, owned by the acting user; (generation id, path)."""
    who = require(actor, "create", what="images")
    gid = new_id()
    now = utcnow()
    path = folder("images") / now.strftime("%Y%m%d") / f"{now.strftime('%H%M%S')}_{gid}.png"
    atomic_write_bytes(path, png)
    try:
        _write_thumbnail(png, path)
        with session_scope() as s:
            s.add(
                Generation(
                    id=gid,
                    kind=KIND,
                    owner=who.name,
                    model=str(settings.get("model", "")),
                    model_revision=str(settings.get("model_revision", ""))[:64],
                    prompt=str(settings.get("prompt", "")),
                    params=settings,
                    outputs=[{"path": str(path), "width": settings.get("width"), "height": settings.get("height")}],
                    path=str(path),
                    seed=settings.get("seed"),
                    job_id=job_id,
                    created_at=now,
                    meta={
                        "style": settings.get("style", ""),
                        "source_hash": settings.get("source_hash", ""),
                        "mode": settings.get("mode", ""),
                    },
                )
            )
    except Exception:
        path.unlink(missing_ok=True)  # no orphan file without its row
        thumb_path(path).unlink(missing_ok=True)
        raise
    return gid, str(path)


def _source_path(digest: str) -> Path:
    return safe_child(folder("images") / SOURCES, f"{digest}.bin")  # the digest may come from a PNG's settings


def save_source(data: bytes) -> str:
    """Keep an image-to-image source (by hash) so the result can be reproduced later; returns the hash."""
    digest = sha256_bytes(data)
    path = _source_path(digest)
    if not path.exists():
        atomic_write_bytes(path, data)
    return digest


def load_source(digest: str) -> bytes:
    """The source image bytes of an image-to-image result; NotFoundError when it was not kept."""
    path = _source_path(digest)
    if not digest or not path.is_file():
        raise NotFoundError(
            "The source image of this image-to-image result is no longer stored.",
            hint="Upload the source again and use the same settings.",
        )
    return path.read_bytes()


# Reading -----------------------------------------------------------------------------------------
def _missing(generation_id: str) -> NotFoundError:
    return NotFoundError(f"There is no image {generation_id!r} in the gallery.", hint="Refresh the gallery.")


def _row(s: Any, generation_id: str, action: Action, actor: Actor | None) -> Generation:
    return owned_row(
        s,
        Generation,
        generation_id,
        action,
        actor,
        kind="image",
        not_found=_missing(generation_id),
        where=lambda r: r.kind == KIND,
    )


def get_image(generation_id: str, *, actor: Actor | None = None) -> GalleryItem:
    """One gallery image the acting user may see; NotFoundError when missing or private to another."""
    with session_scope() as s:
        return _to_item(_row(s, generation_id, "read", actor))


def list_images(
    *,
    start: date | datetime | None = None,
    end: date | datetime | None = None,
    model: str | None = None,
    style: str | None = None,
    search: str | None = None,
    favourites_only: bool = False,
    limit: int = 500,
    actor: Actor | None = None,
) -> list[GalleryItem]:
    """The acting user's images and shared ones (admins: all), newest first, filtered by date range (inclusive
    days), model, style preset and prompt text."""
    who = current(actor)
    q = select(Generation).where(Generation.kind == KIND, visible_filter(who, Generation.owner, Generation.shared))
    if start is not None:
        s_dt = start if isinstance(start, datetime) else datetime.combine(start, time.min, tzinfo=UTC)
        q = q.where(Generation.created_at >= as_utc(s_dt))
    if end is not None:
        e_dt = end if isinstance(end, datetime) else datetime.combine(end, time.max, tzinfo=UTC)
        q = q.where(Generation.created_at <= as_utc(e_dt))
    if model:
        q = q.where(Generation.model == model)
    if favourites_only:
        q = q.where(Generation.favourite.is_(True))
    if search and search.strip():
        q = q.where(Generation.prompt.ilike(f"%{search.strip()}%"))
    q = q.order_by(Generation.created_at.desc(), Generation.id.desc())
    with session_scope() as s:
        items = [_to_item(r) for r in s.scalars(q)]
    if style:
        items = [i for i in items if i.style == style]
    return items[:limit]


def filter_options(*, actor: Actor | None = None) -> dict[str, list[str]]:
    """Models and style presets of the images the acting user may see (for the filter widgets)."""
    who = current(actor)
    with session_scope() as s:
        rows = s.execute(
            select(Generation.model, Generation.meta).where(
                Generation.kind == KIND, visible_filter(who, Generation.owner, Generation.shared)
            )
        ).all()
    models = sorted({m for m, _ in rows if m})
    styles = sorted({str((meta or {}).get("style") or "") for _, meta in rows} - {""})
    return {"models": models, "styles": styles}


# Changing ----------------------------------------------------------------------------------------
def set_favourite(generation_id: str, favourite: bool = True, *, actor: Actor | None = None) -> GalleryItem:
    """Mark or unmark an image as a favourite (your own image)."""
    with session_scope() as s:
        row = _row(s, generation_id, "change", actor)
        row.favourite = bool(favourite)
        s.flush()
        return _to_item(row)


def set_shared(generation_id: str, shared: bool = True, *, actor: Actor | None = None) -> GalleryItem:
    """Share an image with the team, or make it private again (its owner or an admin)."""
    return share_row(
        Generation,
        generation_id,
        shared,
        actor,
        kind="image",
        not_found=_missing(generation_id),
        to_info=_to_item,
        where=lambda r: r.kind == KIND,
    )


def delete_images(generation_ids: list[str], *, actor: Actor | None = None) -> int:
    """Delete images (file and row) the acting user owns (admins: any); returns how many were deleted.
    Unknown ids are skipped; another's image is refused before anything is deleted."""
    who = current(actor)
    ids = list(dict.fromkeys(generation_ids))
    with session_scope() as s:
        for gid in ids:  # check every one first: all or nothing
            if s.get(Generation, gid) is not None:
                _row(s, gid, "change", who)
    n = 0
    for gid in ids:
        with session_scope() as s:
            row = s.get(Generation, gid)
            if row is None or row.kind != KIND:
                continue
            path = Path(row.path) if row.path else None
            s.delete(row)
        record(who, "image.delete", "image", gid)
        if path is not None:
            path.unlink(missing_ok=True)
            thumb_path(path).unlink(missing_ok=True)
        n += 1
    return n


def zip_images(generation_ids: list[str], *, actor: Actor | None = None) -> bytes:
    """A zip of the selected PNGs (settings inside each) and a settings.json index."""
    if not generation_ids:
        raise UserInputError("No images are selected.", hint="Tick the images to download first.")
    buf = io.BytesIO()
    index: list[dict[str, Any]] = []
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:  # PNGs are already compressed
        for gid in dict.fromkeys(generation_ids):
            item = get_image(gid, actor=actor)
            name = f"{item.created_at.strftime('%Y%m%d_%H%M%S')}_{item.id}.png"
            zf.writestr(name, item.png())
            index.append({"file": name, "id": item.id, **item.settings})
        zf.writestr("settings.json", json.dumps(index, indent=2, ensure_ascii=False, default=str))
    return buf.getvalue()


# Reproduce / vary / restore -----------------------------------------------------------------------
def request_from_settings(settings: dict[str, Any], *, seed: int | None = None, save: bool = True) -> ImageRequest:
    """An ImageRequest that repeats ``settings`` for one image (seed overridden when given)."""
    source = None
    if settings.get("mode") == "image-to-image":
        source = load_source(str(settings.get("source_hash") or ""))
    return ImageRequest(
        prompt=str(settings.get("user_prompt") or settings.get("prompt") or ""),
        negative_prompt=str(settings.get("user_negative_prompt") or ""),
        model=str(settings.get("model_value") or settings.get("model") or "") or None,
        style=str(settings.get("style") or "") or None,
        style_prompt=str(settings.get("style_prompt") or ""),
        style_negative=str(settings.get("style_negative") or ""),
        aspect=str(settings.get("aspect") or "") or None,
        width=int(settings["width"]) if settings.get("width") else None,
        height=int(settings["height"]) if settings.get("height") else None,
        steps=int(settings["steps"]) if settings.get("steps") else None,
        guidance=float(settings["guidance"]) if settings.get("guidance") is not None else None,
        scheduler=str(settings.get("scheduler") or "Model default"),
        seed=int(settings["seed"]) if seed is None and settings.get("seed") is not None else seed,
        num_images=1,
        init_image=source,
        strength=float(settings.get("strength") or 0.5),
        save=save,
        loras=lora.require_files(settings),
    )


def restore_settings(png: bytes) -> dict[str, Any]:
    """Settings of a PNG made here (uploaded back); UserInputError when it carries none."""
    return read_png_settings(png)


def reproduce(
    generation_id: str, *, on_step: Callable[[int, int], None] | None = None, save: bool = True
) -> ImageResult:
    """Generate the image again with exactly its settings and seed (same pixels on the same device and dtype).

    An image made in a batch is reproduced by rerunning that batch (batched kernels round differently from
    single-image ones) and keeping only its own image.
    """
    from aigc_core.images.generate import generate_images

    settings = get_image(generation_id).settings
    if settings.get("mode") in ("inpaint", "outpaint", "upscale"):
        from aigc_core.images.edits import rerun

        return rerun(settings, save=save)
    target = int(settings["seed"])
    batch = [int(s) for s in settings.get("batch_seeds") or [target]]
    req = request_from_settings(settings, seed=batch[0], save=False)
    req.num_images = len(batch)
    result = generate_images(req, on_step=on_step)
    result.images = [g for g in result.images if g.seed == target]
    result.settings = {**result.settings, "seed": target}
    if save:
        if req.init_image is not None:
            save_source(req.init_image)
        for g in result.images:
            g.generation_id, g.path = save_png(g.png, g.settings)
    return result


def vary(generation_id: str, *, on_step: Callable[[int, int], None] | None = None, save: bool = True) -> ImageResult:
    """The same settings with a new random seed."""
    from aigc_core.images.generate import generate_images, random_seed

    settings = get_image(generation_id).settings
    if settings.get("mode") in ("inpaint", "outpaint", "upscale"):
        from aigc_core.images.edits import rerun

        return rerun(settings, seed=random_seed(), save=save)
    req = request_from_settings(settings, seed=random_seed(), save=save)
    return generate_images(req, on_step=on_step)
