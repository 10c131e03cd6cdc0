"""Creatives: a gallery image + a copy variant + a call to action + a brand kit → one finished PNG per ad size."""

from __future__ import annotations

from typing import Any

import streamlit as st

from aigc_core.copy.guardrails import kit_names
from aigc_core.images import gallery
from aigc_core.images.brand import get_visual, save_visual
from aigc_core.images.creatives import CreativeRequest, build_creatives, copy_options, read_output
from aigc_core.images.creatives_batch import save_upload
from aigc_core.images.creatives_batch import submit as submit_creatives
from aigc_core.images.layout import PLACEMENTS
from pages._jobs_widgets import progress_bar
from pages._ui import empty_state, guard, link_to_page, literal, page_header

NO_KIT = "No kit (studio defaults)"
FROM_GALLERY, FROM_UPLOAD = "From the gallery", "Upload an image"
FROM_HISTORY, TYPED = "From Ad copy history", "Type it"
FIT_LABELS = {
    "crop": "Smart crop (keeps the subject)",
    "outpaint": "Outpaint to each size (diffusion model; edge fill without one)",
}

page_header(
    "Creatives",
    "Turn a draft image and a line of copy into finished ads in every placement size, in your brand's colours.",
)
ss = st.session_state


def pick_image() -> dict[str, Any] | None:
    """The chosen image: {'image_id': …} or {'image': bytes}; None when there is none yet."""
    source = st.radio("Image", [FROM_GALLERY, FROM_UPLOAD], horizontal=True, key="cr_image_source")
    if source == FROM_UPLOAD:
        up = st.file_uploader("Image (PNG, JPEG or WebP)", type=["png", "jpg", "jpeg", "webp"], key="cr_upload")
        return {"image": up.getvalue()} if up is not None else None
    items = guard(gallery.list_images, limit=200) or []
    if not items:
        empty_state("The gallery is empty.", hint="Generate an image on the Images page, or upload one here.")
        return None
    by_id = {i.id: i for i in items}
    chosen = st.selectbox(
        "Gallery image",
        list(by_id),
        key="cr_image",
        format_func=lambda i: f"{by_id[i].prompt[:60]} · seed {by_id[i].seed} · {by_id[i].size[0]}×{by_id[i].size[1]}",
    )
    thumb = guard(by_id[chosen].thumbnail)
    if thumb:
        st.image(thumb, width=240)
    return {"image_id": chosen}


def on_copy_pick() -> None:
    """Put the picked history variant into the headline box (editable)."""
    options = ss.get("cr_copy_options") or {}
    pick = ss.get("cr_copy_pick")
    if pick in options:
        ss["cr_headline"] = options[pick]["text"]


def pick_copy() -> dict[str, Any]:
    """The headline, the CTA and where the copy came from."""
    ss.setdefault("cr_cta", "Shop now")
    mode = st.radio("Copy", [FROM_HISTORY, TYPED], horizontal=True, key="cr_copy_mode")
    ref: dict[str, Any] = {}
    if mode == FROM_HISTORY:
        options = guard(copy_options) or []
        ss["cr_copy_options"] = {str(n): {"text": o.text, "ref": o.ref} for n, o in enumerate(options)}
        if not options:
            st.caption("No passing variants in your Ad copy history yet: generate some on the Ad copy page.")
        else:
            labels = {str(n): o.label for n, o in enumerate(options)}
            st.selectbox(
                "Copy variant", list(labels), key="cr_copy_pick", format_func=labels.get, on_change=on_copy_pick
            )
            if not ss.get("cr_headline"):
                on_copy_pick()
            pick = ss.get("cr_copy_pick")
            if pick in ss["cr_copy_options"] and ss.get("cr_headline") == ss["cr_copy_options"][pick]["text"]:
                ref = dict(ss["cr_copy_options"][pick]["ref"])
    st.text_area("Headline", key="cr_headline", height=80, placeholder="Cold water for 24 hours")
    st.text_input("Call to action", key="cr_cta", max_chars=40)
    return {"headline": ss.get("cr_headline", ""), "cta": ss.get("cr_cta", ""), "copy_ref": ref}


def kit_visuals(kit: str) -> None:
    """Edit the kit's visual rules: colours, safe margin, logo and font."""
    vis = guard(get_visual, kit)
    if vis is None:
        return
    with st.expander("Brand kit visuals (logo, colours, font, safe margin)"):
        c1, c2, c3 = st.columns(3)
        primary = c1.color_picker("Button colour", vis.primary, key=f"cr_vis_primary_{kit}")
        text = c2.color_picker("Preferred text colour", vis.text, key=f"cr_vis_text_{kit}")
        margin = c3.slider("Safe margin (% of the short side)", 0, 20, round(vis.margin * 100), key=f"cr_vis_m_{kit}")
        logo = st.file_uploader("Logo (PNG or WebP with transparency)", type=["png", "webp", "jpg", "jpeg"],
                                key=f"cr_vis_logo_{kit}")  # fmt: skip
        font = st.file_uploader("Font (TTF or OTF)", type=["ttf", "otf", "ttc"], key=f"cr_vis_font_{kit}")
        st.caption(
            f"Logo: {'set' if vis.logo else 'none'} · font: {literal(vis.font_name or 'studio default')} · "
            f"version {literal(vis.version)}"
        )
        if st.button("Save visuals", key=f"cr_vis_save_{kit}"):
            saved = guard(
                save_visual,
                kit,
                primary=primary,
                text=text,
                margin=margin / 100,
                logo=logo.getvalue() if logo is not None else None,
                font=font.getvalue() if font is not None else None,
                font_name=font.name if font is not None else "",
            )
            if saved is not None:
                st.success(f"Saved the visuals of {literal(saved.kit_name)}.", icon=":material/check:")


def render_result() -> None:
    """Previews of the last build, its notes and the ZIP download."""
    res = ss.get("cr_result")
    if not res:
        return
    for note in res["notes"]:
        st.info(literal(note), icon=":material/info:")
    st.download_button(
        f"Download {len(res['files'])} creatives as a ZIP (with manifest.json)",
        res["zip"],
        file_name="creatives.zip",
        mime="application/zip",
        key="cr_zip",
        type="primary",
    )
    cols = st.columns(3)
    for n, f in enumerate(res["files"]):
        with cols[n % 3]:
            st.image(f["png"], caption=literal(f"{f['label']} · contrast {f['contrast']}"), width="stretch")


def single_tab() -> None:
    """One image and one copy variant → every size, previews and a ZIP."""
    left, right = st.columns([2, 3])
    with left:
        image = pick_image()
        copy = pick_copy()
        kits = guard(kit_names) or []
        kit_choice = st.selectbox("Brand kit", [NO_KIT, *kits], key="cr_kit")
        kit = None if kit_choice == NO_KIT else kit_choice
        if kit:
            kit_visuals(kit)
        placements = st.multiselect(
            "Channels and sizes",
            list(PLACEMENTS),
            default=list(PLACEMENTS),
            key="cr_placements",
            format_func=lambda k: PLACEMENTS[k].label,
        )
        fit = st.radio("Fit the image to each size by", list(FIT_LABELS), key="cr_fit", format_func=FIT_LABELS.get)
        if st.button("Build creatives", key="cr_build", type="primary", disabled=image is None):
            request = CreativeRequest(
                headline=copy["headline"],
                cta=copy["cta"],
                placements=list(placements),
                brand_kit=kit,
                fit=fit,
                copy_ref=copy["copy_ref"],
                **(image or {}),
            )
            with st.spinner("Laying out the creatives…"):
                result = guard(build_creatives, request)
            if result is not None:
                ss["cr_result"] = {
                    "zip": result.zip_bytes(),
                    "notes": result.notes,
                    "files": [
                        {
                            "name": c.file_name,
                            "png": c.png,
                            "label": PLACEMENTS[c.placement].label,
                            "contrast": " / ".join(f"{t.role} {t.contrast:.1f}:1" for t in c.layout.texts),
                        }
                        for c in result.creatives
                    ],
                }
    with right:
        render_result()


@st.fragment(run_every=2)
def batch_panel() -> None:
    """Progress of the submitted batch, refreshing itself; the ZIP when it is done."""
    job_id = ss.get("cr_batch_job")
    if not job_id:
        return
    from aigc_core import jobs

    job = guard(jobs.get, job_id)
    if job is None:
        return
    progress_bar(job.progress, f"Creatives job {job_id} · {job.status}: {literal(job.message)}")
    out = (job.result or {}).get("output")
    if out:
        data = guard(read_output, out)
        if data:
            st.download_button("Download the batch ZIP", data, file_name="creatives_batch.zip", mime="application/zip",
                               key="cr_batch_zip")  # fmt: skip
    if job.error:
        st.warning(f"The batch failed: {literal(job.error)}", icon=":material/warning:")
    link_to_page("pages/models_jobs.py", "Follow it on Models & jobs", icon=":material/memory:")


def batch_tab() -> None:
    """A CSV (product list, or the Ad copy batch's output) → creatives for every row, as a background job."""
    st.caption(
        "Upload the CSV the Ad copy batch wrote (its best variant per product is used) or any list with a headline "
        "column. Each row gets an image generated from its prompt column, or uses one gallery image."
    )
    up = st.file_uploader("CSV", type=["csv", "tsv", "txt"], key="cr_batch_csv")
    c1, c2, c3 = st.columns(3)
    c1.text_input("Headline column", "text", key="cr_batch_headline")
    c2.text_input("Product column", "product", key="cr_batch_product")
    c3.text_input("Prompt column (empty: one gallery image)", "", key="cr_batch_prompt")
    items = guard(gallery.list_images, limit=200) or []
    by_id = {i.id: i for i in items}
    image_id = st.selectbox("Gallery image for every row (when there is no prompt column)", ["", *by_id],
                            key="cr_batch_image", format_func=lambda i: by_id[i].prompt[:60] if i else "—")  # fmt: skip
    st.text_input("Call to action", "Shop now", key="cr_batch_cta", max_chars=40)
    kits = guard(kit_names) or []
    kit = st.selectbox("Brand kit", [NO_KIT, *kits], key="cr_batch_kit")
    placements = st.multiselect("Sizes", list(PLACEMENTS), default=list(PLACEMENTS), key="cr_batch_sizes",
                                format_func=lambda k: PLACEMENTS[k].label)  # fmt: skip
    if st.button("Build the batch in the background", key="cr_batch_go", disabled=up is None):
        path = guard(save_upload, up.getvalue(), up.name)
        if path is not None:
            job_id = guard(
                submit_creatives,
                {
                    "input_path": str(path),
                    "headline_column": ss.get("cr_batch_headline", "text"),
                    "product_column": ss.get("cr_batch_product", "product"),
                    "prompt_column": ss.get("cr_batch_prompt", ""),
                    "image_id": image_id or "",
                    "cta": ss.get("cr_batch_cta", ""),
                    "brand_kit": None if kit == NO_KIT else kit,
                    "placements": list(placements),
                },
            )
            if job_id:
                ss["cr_batch_job"] = job_id
    batch_panel()


tab_one, tab_batch = st.tabs(["One image", "Batch from a CSV"])
with tab_one:
    single_tab()
with tab_batch:
    batch_tab()
