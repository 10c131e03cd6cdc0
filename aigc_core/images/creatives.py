"""Ad creatives: one image + a headline + a CTA + a brand kit → one finished PNG per placement size, and a ZIP
with a manifest (size, copy, image seed and settings, kit version) from which every creative can be rebuilt."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aigc_core.errors import UserInputError
from aigc_core.images.brand import get_visual
from aigc_core.images.layout import LAYOUT_VERSION, PLACEMENTS, Layout, render
from aigc_core.images.metadata import png_bytes, sha256_bytes
from aigc_core.users.roles import Actor

FITS = ("crop", "outpaint")  # smart crop, or extend the image with the diffusion model and then crop
MAX_HEADLINE = 300
MAX_CTA = 40


@dataclass
class CreativeRequest:
    """What the creative builder asks for. The image comes from the gallery (``image_id``) or as bytes."""

    headline: str
    cta: str = ""
    image_id: str | None = None
    image: bytes | None = None
    placements: list[str] = field(default_factory=lambda: list(PLACEMENTS))
    brand_kit: str | None = None
    fit: str = "crop"
    copy_ref: dict[str, Any] = field(default_factory=dict)  # where the copy came from (history id, variant)
    outpaint_prompt: str = ""
    seed: int = 0  # outpainting seed


@dataclass
class Creative:
    """One finished creative."""

    placement: str
    png: bytes
    layout: Layout

    @property
    def file_name(self) -> str:
        """Its name inside the ZIP."""
        w, h = self.layout.size
        return f"{self.placement}_{w}x{h}.png"


@dataclass
class CreativeSet:
    """Every creative of one request and the manifest that describes them."""

    creatives: list[Creative]
    manifest: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def zip_bytes(self) -> bytes:
        """A ZIP: one PNG per placement and manifest.json."""
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
            for c in self.creatives:
                zf.writestr(c.file_name, c.png)
            zf.writestr("manifest.json", json.dumps(self.manifest, indent=2, ensure_ascii=False, default=str))
        return buf.getvalue()


def _source(request: CreativeRequest, actor: Actor | None) -> tuple[Any, bytes, dict[str, Any]]:
    """(RGB image, its bytes, what the manifest records about it)."""
    from aigc_core.images import gallery
    from aigc_core.images.img2img import read_source_image

    if request.image_id:
        item = gallery.get_image(request.image_id, actor=actor)
        data = item.png()
        info = {"generation_id": item.id, "seed": item.seed, "settings": item.settings}
    elif request.image:
        data = request.image
        info = {"generation_id": None, "seed": None, "settings": {}}
    else:
        raise UserInputError("No image is chosen.", hint="Pick a gallery image or upload one.")
    image = read_source_image(data)
    info.update({"sha256": sha256_bytes(data), "width": image.width, "height": image.height})
    return image, data, info


def validate(request: CreativeRequest) -> list[str]:
    """The placement keys to build; UserInputError on bad values (before anything is rendered)."""
    headline = " ".join((request.headline or "").split())
    if not headline:
        raise UserInputError("The headline is empty.", hint="Pick a copy variant from the history or type one.")
    if len(headline) > MAX_HEADLINE:
        raise UserInputError(
            f"The headline is {len(headline)} characters; creatives take at most {MAX_HEADLINE}.",
            hint="Use a shorter variant: long text is shrunk until it is hard to read.",
        )
    if len((request.cta or "").strip()) > MAX_CTA:
        raise UserInputError(f"The call to action is longer than {MAX_CTA} characters.", hint="E.g. “Shop now”.")
    keys = list(dict.fromkeys(request.placements))
    if not keys:
        raise UserInputError("No placement size is chosen.", hint="Tick at least one size.")
    unknown = [k for k in keys if k not in PLACEMENTS]
    if unknown:
        raise UserInputError(f"Unknown placement {unknown[0]!r}.", hint=f"Use one of {', '.join(PLACEMENTS)}.")
    if request.fit not in FITS:
        raise UserInputError(f"Unknown fit {request.fit!r}.", hint=f"Use one of {', '.join(FITS)}.")
    return keys


def build_creatives(request: CreativeRequest, *, actor: Actor | None = None, loaded: Any = None) -> CreativeSet:
    """Render every placement of ``request``; the kit's logo, colours, font and margin apply."""
    keys = validate(request)
    visual = get_visual(request.brand_kit)
    image, _data, source_info = _source(request, actor)
    headline = " ".join(request.headline.split())
    cta = " ".join((request.cta or "").split())
    notes: list[str] = []
    creatives: list[Creative] = []
    entries: list[dict[str, Any]] = []
    for key in keys:
        p = PLACEMENTS[key]
        base = image
        outpaint_info: dict[str, Any] | None = None
        if request.fit == "outpaint":
            from aigc_core.images.outpaint import extend_to_aspect

            base, outpaint_info = extend_to_aspect(
                image, p.width, p.height, prompt=request.outpaint_prompt, seed=request.seed, loaded=loaded
            )
        layout = render(base, p, headline, cta, visual.to_layout())
        entry = {
            "file": f"{key}_{p.width}x{p.height}.png",
            "copy": {"headline": headline, "cta": cta, **request.copy_ref},
            "fit": request.fit,
            "outpaint": outpaint_info,
            **layout.report(),
        }
        png = png_bytes(layout.image, {"prompt": headline, "creative": entry, "source": source_info["sha256"]})
        creatives.append(Creative(key, png, layout))
        entries.append(entry)
        notes += layout.notes
        failing = [t.role for t in layout.texts if not t.passes]
        if failing:
            notes.append(f"{p.label}: the {', '.join(failing)} is below 4.5:1 contrast.")
    manifest = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "layout_version": LAYOUT_VERSION,
        "image": source_info,
        "brand_kit": visual.manifest(),
        "copy": {"headline": headline, "cta": cta, **request.copy_ref},
        "creatives": entries,
    }
    return CreativeSet(creatives, manifest, list(dict.fromkeys(notes)))


def rebuild(manifest: dict[str, Any], *, actor: Actor | None = None) -> CreativeSet:
    """Build the creatives of a manifest again (same gallery image, copy, placements and current kit)."""
    image = manifest.get("image") or {}
    if not image.get("generation_id"):
        raise UserInputError(
            "This manifest was made from an uploaded image.", hint="Upload the same image and build again."
        )
    entries = manifest.get("creatives") or []
    first = entries[0] if entries else {}
    copy = dict(manifest.get("copy") or {})
    return build_creatives(
        CreativeRequest(
            headline=str(copy.pop("headline", "")),
            cta=str(copy.pop("cta", "")),
            image_id=str(image["generation_id"]),
            placements=[str(e.get("placement")) for e in entries],
            brand_kit=(manifest.get("brand_kit") or {}).get("id") or None,
            fit=str(first.get("fit") or "crop"),
            copy_ref=copy,
        ),
        actor=actor,
    )


def read_output(path: str) -> bytes:
    """The ZIP a creatives batch job wrote (only files under the data dir)."""
    from aigc_core.settings import get_settings
    from aigc_core.storage import inside

    p = inside(get_settings().resolved_data_dir, path)
    if not p.is_file():
        raise UserInputError("The batch ZIP is gone.", hint="Run the batch again.")
    return p.read_bytes()


@dataclass
class CopyOption:
    """One passing copy variant from the Ad copy history."""

    label: str
    text: str
    ref: dict[str, Any]


def copy_options(limit: int = 30, *, actor: Actor | None = None) -> list[CopyOption]:
    """Passing variants of the acting user's (and shared) Ad copy history, newest first."""
    from aigc_core.copy.history import list_history

    out: list[CopyOption] = []
    for entry in list_history(limit=limit, actor=actor):
        product = str(entry.brief.get("product") or "")
        for i, v in enumerate(entry.variants):
            text = str(v.get("text") or "").strip()
            if not text or v.get("passes") is False:
                continue
            short = text if len(text) <= 70 else text[:67] + "…"
            out.append(
                CopyOption(
                    label=f"{product} · {entry.brief.get('channel', '')} · {short}",
                    text=text,
                    ref={"copy_generation_id": entry.id, "variant": i, "channel": entry.brief.get("channel", "")},
                )
            )
    return out
