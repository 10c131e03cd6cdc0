"""Images: text-to-image and image-to-image drafts with presets, seeds, LoRA styles and a gallery; inpaint,
outpaint and upscale on the Edit tab."""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from aigc_core.copy.guardrails import kit_names
from aigc_core.errors import UserInputError
from aigc_core.images import gallery
from aigc_core.images.generate import generate_images
from aigc_core.images.inpaint import inpaint, mask_preview
from aigc_core.images.jobs import submit_batch
from aigc_core.images.lora import list_loras, lora_dir
from aigc_core.images.metadata import READABLE_KEYS
from aigc_core.images.outpaint import outpaint
from aigc_core.images.presets import ASPECT_PRESETS, STYLE_PRESETS, expand_style
from aigc_core.images.request import BATCH_JOB_THRESHOLD, MAX_IMAGES, ImageRequest
from aigc_core.images.status import ModelStatus, model_status
from aigc_core.images.upscale import (
    DEFAULT_NOISE_LEVEL,
    DEFAULT_STEPS,
    MAX_DIFFUSION_SIDE,
    MAX_STEPS,
    diffusion_configured,
    upscale,
)
from pages._jobs_widgets import progress_bar, rerun_page_when_done
from pages._ui import empty_state, guard, link_to_page, literal, page_header, show_error

CUSTOM = "Custom size"
SOURCE = "Like the source image"
ALL_KITS = "Every brand kit"
HOW_TO = """
No diffusion weights can be installed from PyPI, so this page needs a model you provide. Set
`AIGC_TEXT_TO_IMAGE_MODEL` before starting the app to one of:

| What you have | Example value | Disk |
| --- | --- | --- |
| Internet access (downloaded once, then cached) | `stabilityai/sd-turbo` (the default) | ≈ 5 GB |
| A diffusers folder (`model_index.json` inside) | `/models/sd-turbo` | 2–7 GB |
| A single checkpoint file | `/models/dreamshaper_8.safetensors` | 2–7 GB |

For example: `AIGC_TEXT_TO_IMAGE_MODEL=/models/sd-turbo scripts/run-app`. A GPU with 6 GB or more is recommended;
on a CPU, SD-Turbo makes a 512×512 image in about 10–30 s.
"""

page_header(
    "Images",
    "Draft product visuals from a prompt or a sketch; reproduce any image exactly from its saved settings.",
)


# ----------------------------------------------------------------------------------------------
# Model and form state
# ----------------------------------------------------------------------------------------------
def explain_no_model(status: ModelStatus) -> None:
    """The empty state when no diffusion model can be loaded: why, and how to point at one."""
    empty_state(
        "Image generation needs a diffusion model, and none is available yet. Once one is set, this page offers "
        "style and aspect-ratio presets, seeds, image-to-image from an upload, a per-step progress bar and a "
        "gallery that keeps every image's settings.",
    )
    st.caption(
        f"Why: {literal(status.reason, code=True)}" + (f" {literal(status.hint, code=True)}" if status.hint else "")
    )
    st.subheader("Pointing the studio at a diffusion model")
    st.markdown(HOW_TO)


def set_model_defaults(status: ModelStatus) -> None:
    """Form defaults (set once, so restored settings can overwrite them) and per-model steps/guidance
    (turbo: 1 step, guidance 0), reset when the model changes."""
    lp = status.loaded
    if lp is None:
        return
    ss = st.session_state
    for key, value in {
        "img_prompt": "",
        "img_negative": "",
        "img_style": "None",
        "img_style_prompt": "",
        "img_style_negative": "",
        "img_aspect": "1:1",
        "img_width": lp.native,
        "img_height": lp.native,
        "img_n": 1,
        "img_seed_mode": "Random",
        "img_seed": 42,
        "img_strength": 0.5,
    }.items():
        ss.setdefault(key, value)
    if ss.get("img_defaults_for") == lp.name:
        return
    st.session_state["img_defaults_for"] = lp.name
    st.session_state["img_steps"] = lp.default_steps
    st.session_state["img_guidance"] = float(lp.default_guidance)
    st.session_state["img_scheduler"] = status.schedulers[0]


def apply_pending_settings(status: ModelStatus) -> None:
    """Fill the form from settings restored from a PNG or a gallery image (before the widgets exist)."""
    s = st.session_state.pop("img_pending_settings", None)
    if not s:
        return
    st.session_state["img_prompt"] = str(s.get("user_prompt") or s.get("prompt") or "")
    st.session_state["img_negative"] = str(s.get("user_negative_prompt") or "")
    style = str(s.get("style") or "None")
    st.session_state["img_style"] = style if style in STYLE_PRESETS else "None"
    st.session_state["img_style_prev"] = st.session_state["img_style"]
    st.session_state["img_style_prompt"] = str(s.get("style_prompt") or "")
    st.session_state["img_style_negative"] = str(s.get("style_negative") or "")
    aspect = str(s.get("aspect") or "")
    st.session_state["img_aspect"] = aspect if aspect in ASPECT_PRESETS else CUSTOM
    st.session_state["img_width"] = int(s.get("width") or 512)
    st.session_state["img_height"] = int(s.get("height") or 512)
    if s.get("steps"):
        st.session_state["img_steps"] = int(s["steps"])
    if s.get("guidance") is not None:
        st.session_state["img_guidance"] = float(s["guidance"])
    sched = str(s.get("scheduler") or "")
    if sched in status.schedulers:
        st.session_state["img_scheduler"] = sched
    if s.get("seed") is not None:
        st.session_state["img_seed_mode"] = "Fixed"
        st.session_state["img_seed"] = int(s["seed"])
    st.session_state["img_n"] = 1
    if s.get("strength"):
        st.session_state["img_strength"] = float(s["strength"])
    available = set(list_loras())
    loras = [d for d in s.get("loras") or [] if d.get("name") in available]
    st.session_state["img_loras"] = [d["name"] for d in loras]
    for d in loras:
        st.session_state[f"img_lora_w_{d['name']}"] = float(d.get("strength", 0.8))
    st.session_state["img_restored_note"] = (
        f"Settings restored (seed {s.get('seed')}, {s.get('width')}×{s.get('height')}, model {s.get('model')})."
        + (" It was image-to-image: upload the same source image to repeat it." if s.get("source_hash") else "")
    )


def on_style_change() -> None:
    """Show the chosen preset's fragments in the editable text areas."""
    pos, neg = expand_style(st.session_state.get("img_style"))
    st.session_state["img_style_prompt"] = pos
    st.session_state["img_style_negative"] = neg


# ----------------------------------------------------------------------------------------------
# Generate tab
# ----------------------------------------------------------------------------------------------
def build_request(status: ModelStatus) -> ImageRequest:
    """The ImageRequest described by the form."""
    ss = st.session_state
    aspect = ss.get("img_aspect", "1:1")
    width = height = None
    if aspect == CUSTOM:
        width, height = int(ss.get("img_width", 512)), int(ss.get("img_height", 512))
    upload = ss.get("img_init")
    steps: int | None = int(ss.get("img_steps", 1))
    if upload is not None and status.loaded is not None and steps == status.loaded.default_steps:
        steps = None  # image-to-image: the engine picks enough steps for the strength (turbo: steps × strength ≥ 1)
    style = ss.get("img_style", "None")
    kit = ss.get("img_kit", ALL_KITS)
    return ImageRequest(
        prompt=ss.get("img_prompt", ""),
        negative_prompt=ss.get("img_negative", ""),
        model=status.value,
        style=None if style == "None" else style,
        style_prompt=ss.get("img_style_prompt", ""),
        style_negative=ss.get("img_style_negative", ""),
        aspect=aspect if aspect in ASPECT_PRESETS else None,  # custom: width/height; source: its ratio
        width=width,
        height=height,
        steps=steps,
        guidance=float(ss.get("img_guidance", 0.0)),
        scheduler=ss.get("img_scheduler", "Model default"),
        seed=int(ss.get("img_seed", 0)) if ss.get("img_seed_mode") == "Fixed" else None,
        num_images=int(ss.get("img_n", 1)),
        init_image=upload.getvalue() if upload is not None else None,
        strength=float(ss.get("img_strength", 0.5)),
        brand_kit=None if kit == ALL_KITS else kit,
        loras=selected_loras(),
    )


def selected_loras() -> list[tuple[str, float]]:
    """(name, strength) of the LoRA styles ticked in the Advanced section."""
    ss = st.session_state
    return [(n, float(ss.get(f"img_lora_w_{n}", 0.8))) for n in ss.get("img_loras") or []]


def lora_widgets() -> None:
    """Pick LoRA styles from the LoRA folder, each with a strength."""
    names = guard(list_loras) or []
    if not names:
        st.caption(f"LoRA styles: put .safetensors LoRA files into {literal(str(guard(lora_dir) or ''))} to use them.")
        return
    chosen = st.multiselect("LoRA styles", names, key="img_loras", max_selections=5)
    for name in chosen:
        st.session_state.setdefault(f"img_lora_w_{name}", 0.8)
        st.slider(f"Strength of {literal(name)}", 0.0, 2.0, step=0.05, key=f"img_lora_w_{name}")


def result_payload(result: Any) -> dict[str, Any]:
    """What the page keeps of a result between reruns (bytes, not PIL images)."""
    return {
        "images": [{"png": g.png, "seed": g.seed, "id": g.generation_id, "size": g.image.size} for g in result.images],
        "notes": list(result.notes),
        "memory": list(result.memory_actions),
        "cancelled": result.cancelled,
        "elapsed_s": result.elapsed_s,
        "seed": result.settings.get("seed"),
        "steps": result.settings.get("steps"),
    }


def run_inline(request: ImageRequest) -> None:
    """Generate here with a per-step progress bar; Cancel (a rerun) interrupts between steps."""
    bar = st.progress(0.0, text="Starting…")
    st.button("Cancel", key="img_cancel", on_click=lambda: st.session_state.update(img_cancelled=True))
    st.session_state["img_cancelled"] = False

    def on_step(done: int, total: int) -> None:
        bar.progress(min(1.0, done / max(total, 1)), text=f"Step {done} of {total}")

    try:
        with st.spinner("Generating…"):
            result = generate_images(
                request, on_step=on_step, should_stop=lambda: bool(st.session_state.get("img_cancelled"))
            )
    except Exception as exc:
        bar.empty()
        show_error(exc)
        return
    bar.empty()
    st.session_state["img_cancelled"] = False
    st.session_state["img_result"] = result_payload(result)


def render_result() -> None:
    """The last result: notes, seed, grid with downloads."""
    res = st.session_state.get("img_result")
    if not res:
        return
    if res["cancelled"]:
        st.warning("Generation was cancelled.", icon=":material/cancel:")
    for note in res["notes"]:
        st.info(literal(note), icon=":material/straighten:")
    if res["memory"]:
        st.caption("Memory care: " + literal("; ".join(res["memory"])))
    images = res["images"]
    if not images:
        return
    seeds = [i["seed"] for i in images]
    seed_text = f"Seed {seeds[0]}" if len(seeds) == 1 else f"Seeds {seeds[0]}–{seeds[-1]} (one per image)"
    st.markdown(f"**{seed_text}** · {res['steps']} step(s) · {res['elapsed_s']:.1f} s · saved to the gallery")
    cols = st.columns(min(4, len(images)))
    for n, img in enumerate(images):
        with cols[n % len(cols)]:
            st.image(img["png"], caption=f"seed {img['seed']}", width="stretch")
            st.download_button(
                "Download PNG",
                img["png"],
                file_name=f"aigc_{img['seed']}.png",
                mime="image/png",
                key=f"img_dl_{img['id'] or n}",
            )


def generate_tab(status: ModelStatus) -> None:
    """The form, the Generate button and the result."""
    lp = status.loaded
    assert lp is not None
    st.caption("Model: " + literal(status.line()))
    if st.session_state.pop("img_cancelled", False):  # Cancel was clicked: that rerun stopped the generation
        st.warning("Generation cancelled; nothing from that run was saved.", icon=":material/cancel:")
    note = st.session_state.pop("img_restored_note", None)
    if note:  # names the model of an uploaded PNG's settings
        st.success(literal(note), icon=":material/restore:")
    st.text_area("Prompt", key="img_prompt", placeholder="a glass water bottle on moss, morning light", height=80)
    st.text_input("Negative prompt (what to avoid)", key="img_negative", placeholder="text, watermark, blurry")
    c1, c2, c3 = st.columns(3)
    c1.selectbox("Style preset", list(STYLE_PRESETS), key="img_style", on_change=on_style_change)
    c2.selectbox(
        "Aspect ratio",
        [*ASPECT_PRESETS, CUSTOM, SOURCE],
        key="img_aspect",
        format_func=lambda a: f"{a} · {ASPECT_PRESETS[a].channels}" if a in ASPECT_PRESETS else a,
    )
    c3.selectbox("Brand kit (banned words)", [ALL_KITS, *(guard(kit_names) or [])], key="img_kit")
    if st.session_state.get("img_style", "None") != "None":
        s1, s2 = st.columns(2)
        s1.text_area("Style words added to the prompt (editable)", key="img_style_prompt", height=80)
        s2.text_area("Style words added to the negative prompt (editable)", key="img_style_negative", height=80)
    if st.session_state.get("img_aspect") == CUSTOM:
        w1, w2 = st.columns(2)
        w1.number_input("Width (px)", 8, 4096, step=8, key="img_width")
        w2.number_input("Height (px)", 8, 4096, step=8, key="img_height")
    d1, d2, d3 = st.columns(3)
    d1.number_input("Images per prompt", 1, MAX_IMAGES, key="img_n")
    d2.radio("Seed", ["Random", "Fixed"], horizontal=True, key="img_seed_mode")
    fixed = st.session_state.get("img_seed_mode") == "Fixed"
    d3.number_input("Seed value", 0, 2**32 - 1 - MAX_IMAGES, key="img_seed", disabled=not fixed)
    with st.expander("Image-to-image (start from a sketch or photo)"):
        st.file_uploader("Source image", type=["png", "jpg", "jpeg", "webp"], key="img_init")
        st.slider("Strength (how much to change it)", 0.05, 1.0, step=0.05, key="img_strength")
    with st.expander("Advanced"):
        a1, a2, a3 = st.columns(3)
        a1.number_input("Steps", 1, 150, key="img_steps", help=f"This model's default: {lp.default_steps}.")
        a2.number_input(
            "Guidance", 0.0, 30.0, step=0.5, key="img_guidance", help=f"This model's default: {lp.default_guidance}."
        )
        a3.selectbox("Scheduler", status.schedulers, key="img_scheduler")
        lora_widgets()
    n = int(st.session_state.get("img_n", 1))
    use_job = n > BATCH_JOB_THRESHOLD
    label = f"Generate {n} images in the background" if use_job else "Generate"
    if st.button(label, key="img_generate", type="primary"):
        request = guard(build_request, status)
        if request is not None:
            if use_job:
                job_id = guard(submit_batch, request)
                if job_id:
                    st.session_state["img_job"] = job_id
            else:
                run_inline(request)
    job_panel()
    render_result()


@st.fragment(run_every=2)
def job_panel() -> None:
    """Progress of a background batch, refreshing itself; its images land in the gallery."""
    job_id = st.session_state.get("img_job")
    if not job_id:
        return
    from aigc_core import jobs

    job = guard(jobs.get, job_id)
    if job is None:
        return
    progress_bar(job.progress, f"Batch job {job_id} · {job.status}: {literal(job.message)}")
    result = job.result or {}
    if result.get("generation_ids"):
        st.success(f"{len(result['generation_ids'])} image(s) saved: see the Gallery tab.", icon=":material/photo:")
    if job.error:
        st.warning(f"The batch job failed: {literal(job.error)}", icon=":material/warning:")
    link_to_page("pages/models_jobs.py", "Follow it on Models & jobs", icon=":material/memory:")
    rerun_page_when_done(job, "img_job_seen_done")  # the Gallery tab then shows the new images


# ----------------------------------------------------------------------------------------------
# Gallery tab
# ----------------------------------------------------------------------------------------------
def gallery_tab(can_generate: bool = True) -> None:
    """Filters, grid with selection, detail view, zip download and restore-from-PNG; ``can_generate``: a model is
    loaded (else the empty gallery says how to get one instead of pointing at a missing Generate tab)."""
    restore = st.file_uploader("Restore settings from a PNG made here", type=["png"], key="gal_restore")
    if restore is not None and st.button("Restore these settings", key="gal_restore_go"):
        try:
            st.session_state["img_pending_settings"] = gallery.restore_settings(restore.getvalue())
            st.rerun()
        except UserInputError as exc:
            show_error(exc)
    opts = guard(gallery.filter_options) or {"models": [], "styles": []}
    f1, f2, f3, f4, f5 = st.columns([2, 2, 2, 3, 1])
    dates = f1.date_input("Dates", value=(), key="gal_dates")
    model = f2.selectbox("Model", ["All models", *opts["models"]], key="gal_model")
    style = f3.selectbox("Style", ["All styles", *opts["styles"]], key="gal_style")
    search = f4.text_input("Prompt contains", key="gal_search")
    favs = f5.checkbox("★ only", key="gal_favs")
    start = end = None
    if isinstance(dates, tuple | list) and dates:
        start, end = dates[0], dates[-1]
    elif isinstance(dates, date):
        start = end = dates
    items = guard(
        gallery.list_images,
        start=start,
        end=end,
        model=None if model == "All models" else model,
        style=None if style == "All styles" else style,
        search=search,
        favourites_only=favs,
    )
    if items is None:
        return
    if not items:
        hint = (
            "Generate some on the Generate tab, or loosen the filters."
            if can_generate
            else "No image model is set yet: set AIGC_TEXT_TO_IMAGE_MODEL as shown above (for example "
            "`AIGC_TEXT_TO_IMAGE_MODEL=/models/sd-turbo scripts/run-app`) and restart the app."
        )
        empty_state("No images yet." if not can_generate else "No images match.", hint=hint)
        return
    open_id = st.session_state.get("gal_open")
    if open_id and any(i.id == open_id for i in items):
        detail(next(i for i in items if i.id == open_id))
        st.divider()
    st.caption(f"{len(items)} image(s), newest first.")
    cols = st.columns(4)
    selected: list[str] = []
    for n, item in enumerate(items[:120]):
        with cols[n % 4]:
            try:
                st.image(item.thumbnail(), width="stretch")
            except Exception as exc:  # a missing file shows as a message, the row stays deletable
                show_error(exc)
            star = "★ " if item.favourite else ""
            st.caption(f"{star}{literal(item.prompt[:60])} · seed {item.seed}")
            if st.checkbox("Select", key=f"gal_sel_{item.id}"):
                selected.append(item.id)
            st.button(
                "Details", key=f"gal_open_{item.id}", on_click=lambda i=item.id: st.session_state.update(gal_open=i)
            )
    if selected:
        data = guard(gallery.zip_images, selected)
        if data:
            st.download_button(
                f"Download {len(selected)} selected as a zip",
                data,
                file_name="aigc_images.zip",
                mime="application/zip",
                key="gal_zip",
            )


def detail(item: Any) -> None:
    """One image large, its settings, and what can be done with it."""
    st.subheader("Image detail")
    left, right = st.columns([3, 2])
    with left:
        png = guard(item.png)
        if png:
            st.image(png, width="stretch")
    with right:
        s = item.settings
        st.markdown(f"**Prompt:** {literal(s.get('prompt', ''))}")
        if s.get("negative_prompt"):
            st.markdown(f"**Negative:** {literal(s['negative_prompt'])}")
        shown = [k for k in READABLE_KEYS if k not in ("prompt", "negative_prompt", "source_hash")]
        rows = {k: s.get(k) for k in (*shown, "mode", "device", "dtype", "created_at") if s.get(k) not in (None, "")}
        st.dataframe(  # values come from the PNG's settings (a prompt, a model path): plain text, never Markdown
            {"setting": list(rows), "value": [str(v) for v in rows.values()]}, hide_index=True, key="gal_settings"
        )
        b1, b2, b3 = st.columns(3)
        if b1.button("Reproduce", key="gal_repro", help="Same settings and seed: the same image on this device."):
            res = guard(gallery.reproduce, item.id)
            if res is not None:
                st.session_state["img_result"] = result_payload(res)
                st.success("Reproduced; the copy is in the gallery and on the Generate tab.")
        if b2.button("Vary", key="gal_vary", help="Same settings, a new seed."):
            res = guard(gallery.vary, item.id)
            if res is not None:
                st.session_state["img_result"] = result_payload(res)
                st.success(f"New variation with seed {res.seeds[0]} (on the Generate tab and in the gallery).")
        fav_label = "Unfavourite" if item.favourite else "★ Favourite"
        if b3.button(fav_label, key="gal_fav_toggle"):
            guard(gallery.set_favourite, item.id, not item.favourite)
            st.rerun()
        c1, c2, c3 = st.columns(3)
        if png:
            c1.download_button("Download", png, file_name=f"aigc_{item.id}.png", mime="image/png", key="gal_dl_one")
        if c2.button("Use settings", key="gal_use", help="Fill the Generate form with these settings."):
            st.session_state["img_pending_settings"] = item.settings
            st.rerun()
        confirm = c3.checkbox("Confirm delete", key="gal_del_confirm")
        deleting = st.button("Delete image", key="gal_delete", disabled=not confirm)
        if deleting and guard(gallery.delete_images, [item.id]):
            st.session_state.pop("gal_open", None)
            st.rerun()
        st.button("Close", key="gal_close", on_click=lambda: st.session_state.pop("gal_open", None))


# ----------------------------------------------------------------------------------------------
# Edit tab: inpaint, outpaint, upscale
# ----------------------------------------------------------------------------------------------
EDIT_OPS = ("Inpaint", "Outpaint", "Upscale")
UPSCALE_METHODS = {"lanczos": "Lanczos + sharpen", "diffusion": "Diffusion upscaler"}
OUTPAINT_ASPECTS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1), "4:5": (4, 5), "1200×628": (1200, 628)}


def edit_source() -> bytes | None:
    """The image to edit: a gallery image or an upload (bytes)."""
    src = st.radio("Image", ["From the gallery", "Upload"], horizontal=True, key="edit_source")
    if src == "Upload":
        up = st.file_uploader("Image to edit", type=["png", "jpg", "jpeg", "webp"], key="edit_upload")
        return up.getvalue() if up is not None else None
    items = guard(gallery.list_images, limit=200) or []
    if not items:
        st.caption("The gallery is empty: upload an image instead.")
        return None
    by_id = {i.id: i for i in items}
    gid = st.selectbox(
        "Gallery image", list(by_id), key="edit_gallery", format_func=lambda i: f"{by_id[i].prompt[:60]} · {i}"
    )
    return guard(by_id[gid].png)


def edit_tab(status: ModelStatus) -> None:
    """Inpaint (uploaded mask or a rectangle), outpaint to a new aspect, upscale 2×/4×; results go to the gallery."""
    data = edit_source()
    op = st.radio("Edit", EDIT_OPS, horizontal=True, key="edit_op")
    if op != "Upscale" and not status.available:
        st.info("Inpainting and outpainting need the diffusion model (see above); upscaling works without one.")
        return
    st.session_state.setdefault("edit_seed", 0)
    result = None
    if op == "Inpaint":
        st.text_input("What to paint into the masked area", key="edit_prompt", placeholder="a red ball")
        mode = st.radio("Mask", ["Rectangle", "Upload a mask"], horizontal=True, key="edit_mask_mode")
        mask = rect = None
        if mode == "Upload a mask":
            up = st.file_uploader("Mask (white = regenerate; same size as the image)", type=["png"], key="edit_mask")
            mask = up.getvalue() if up is not None else None
        else:
            c1, c2 = st.columns(2)
            lr = c1.slider("Left – right (share of the width)", 0.0, 1.0, (0.25, 0.75), key="edit_rect_x")
            tb = c2.slider("Top – bottom (share of the height)", 0.0, 1.0, (0.25, 0.75), key="edit_rect_y")
            rect = (lr[0], tb[0], lr[1], tb[1])
            if data is not None:
                preview_mask(data, rect)
        d1, d2, d3 = st.columns(3)
        d1.slider("Strength", 0.05, 1.0, 0.85, step=0.05, key="edit_strength")
        d2.number_input("Seed", 0, 2**31, key="edit_seed")
        d3.number_input("Steps (0 = model default)", 0, 150, 0, key="edit_steps")
        if st.button("Inpaint", key="edit_run", type="primary", disabled=data is None):
            ss = st.session_state
            with st.spinner("Inpainting…"):
                result = guard(
                    inpaint,
                    data,
                    ss.get("edit_prompt", ""),
                    mask=mask,
                    rectangle=None if mask is not None else rect,
                    model=status.value,
                    seed=int(ss["edit_seed"]),
                    steps=int(ss.get("edit_steps") or 0) or None,
                    strength=float(ss.get("edit_strength", 0.85)),
                    loras=selected_loras(),
                )
    elif op == "Outpaint":
        st.text_input("What the new area shows (optional)", key="edit_out_prompt", placeholder="sandy beach")
        c1, c2, c3 = st.columns(3)
        aspect = c1.selectbox("New aspect ratio", list(OUTPAINT_ASPECTS), key="edit_aspect")
        anchor = c2.selectbox("Keep the image at", ["center", "start", "end"], key="edit_anchor")
        c3.number_input("Seed", 0, 2**31, key="edit_seed")
        if st.button("Outpaint", key="edit_run", type="primary", disabled=data is None):
            w, h = OUTPAINT_ASPECTS[aspect]
            with st.spinner("Outpainting…"):
                result = guard(
                    outpaint,
                    data,
                    w,
                    h,
                    st.session_state.get("edit_out_prompt", ""),
                    anchor=anchor,
                    model=status.value,
                    seed=int(st.session_state["edit_seed"]),
                    loras=selected_loras(),
                )
    else:
        result = upscale_form(data)
    if result is not None:
        st.session_state["edit_result"] = {"png": result.image.png, "size": result.image.image.size, "op": op}
    res = st.session_state.get("edit_result")
    if res:
        st.image(res["png"], caption=f"{res['op']} · {res['size'][0]}×{res['size'][1]} · saved to the gallery")
        st.download_button("Download PNG", res["png"], file_name="aigc_edit.png", mime="image/png", key="edit_dl")


def upscale_form(data: bytes | None) -> Any:
    """Factor and method (Lanczos + sharpen, or the diffusion upscaler when one is configured); the result or None."""
    has_diffusion = bool(guard(diffusion_configured))
    method = "lanczos"
    if has_diffusion:
        method = st.radio(
            "Method",
            list(UPSCALE_METHODS),
            index=1,
            horizontal=True,
            key="edit_up_method",
            format_func=UPSCALE_METHODS.__getitem__,
        )
    c1, c2 = st.columns(2)
    factor = c1.radio("Factor", [2, 4], horizontal=True, key="edit_factor", format_func=lambda f: f"{f}×")
    ss = st.session_state
    if method == "diffusion":
        st.text_input(
            "Prompt (optional)",
            key="edit_up_prompt",
            placeholder="empty: the image's own prompt",
            help="What the image shows; the upscaler invents detail that fits it.",
        )
        d1, d2, d3 = st.columns(3)
        d1.number_input("Steps", 1, MAX_STEPS, DEFAULT_STEPS, key="edit_up_steps")
        d2.number_input(
            "Noise level",
            0,
            350,
            DEFAULT_NOISE_LEVEL,
            key="edit_up_noise",
            help="Noise added to the source first: higher invents more detail and keeps less of the original.",
        )
        d3.number_input("Seed", 0, 2**31, 0, key="edit_up_seed")
        st.caption(
            f"A 4× diffusion upscaler (AIGC_UPSCALE_MODEL) for sources up to {MAX_DIFFUSION_SIDE} px a side; 2× is "
            "its 4× output resized with Lanczos. Slow without a GPU."
        )
    else:
        c2.checkbox("Sharpen (unsharp mask)", value=True, key="edit_sharpen")
        st.caption(
            "Lanczos resampling plus an unsharp mask, tile by tile"
            + (
                "."
                if has_diffusion
                else " (no diffusion upscaler is configured: an admin can set AIGC_UPSCALE_MODEL to use one)."
            )
        )
    if not st.button("Upscale", key="edit_run", type="primary", disabled=data is None):
        return None
    if method == "diffusion":
        with st.spinner("Upscaling with the diffusion model (the first time loads it)…"):
            return guard(
                upscale,
                data,
                int(factor),
                method="diffusion",
                prompt=str(ss.get("edit_up_prompt") or ""),
                steps=int(ss.get("edit_up_steps") or DEFAULT_STEPS),
                noise_level=int(ss.get("edit_up_noise", DEFAULT_NOISE_LEVEL)),
                seed=int(ss.get("edit_up_seed") or 0),
            )
    with st.spinner("Upscaling…"):
        return guard(upscale, data, int(factor), sharpen=bool(ss.get("edit_sharpen", True)), method="lanczos")


def preview_mask(data: bytes, rect: tuple[float, float, float, float]) -> None:
    """The image with the rectangle to regenerate shaded."""
    png = guard(mask_preview, data, rect)
    if png:
        st.image(png, caption="Pink: the area that is regenerated", width=320)


# ----------------------------------------------------------------------------------------------
# Page
# ----------------------------------------------------------------------------------------------
with st.spinner("Loading the image model (the first time can take a minute)…"):
    status = model_status()
if not status.available:
    explain_no_model(status)
    tab_gallery, tab_edit = st.tabs(["Gallery", "Edit"])
    with tab_gallery:
        gallery_tab(can_generate=False)
    with tab_edit:
        edit_tab(status)
else:
    set_model_defaults(status)
    apply_pending_settings(status)
    tab_gen, tab_edit, tab_gallery = st.tabs(["Generate", "Edit", "Gallery"])
    with tab_gen:
        generate_tab(status)
    with tab_edit:
        edit_tab(status)
    with tab_gallery:
        gallery_tab()
