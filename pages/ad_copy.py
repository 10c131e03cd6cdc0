"""Ad copy: a brief in, checked on-brand variants out — streaming, brand kit, history, batch from CSV.

Model output and user text are plain text: shown with st.text / st.code, or escaped (literal) in Markdown."""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from aigc_core import copy as copy_api
from aigc_core import feedback as feedback_api
from aigc_core.copy.defaults import checks_caveat, language_notice
from aigc_core.copy.guardrails import ALL_CHANNELS
from aigc_core.copy.ranking import SCORES
from aigc_core.errors import UserInputError
from aigc_core.finetune.registry import list_versions, promoted
from aigc_core.storage import safe_name
from aigc_core.users.roles import current
from pages._jobs_widgets import progress_bar, rerun_page_when_done
from pages._ui import empty_state, guard, link_to_page, literal, page_header, show_error

PREFILL_KEY = "ad_copy_prefill"
RESULT_KEY = "copy_result"
# Brief field -> widget key (the prefill from the sentiment monitor fills these).
FIELD_KEYS = {
    "product": "copy_product",
    "key_points": "copy_points",
    "audience": "copy_audience",
    "channel": "copy_channel",
    "tone": "copy_tone",
    "tone_text": "copy_tone_text",
    "language": "copy_language",
    "n_variants": "copy_n",
    "creativity": "copy_creativity",
    "brand_kit": "copy_kit",
}
NO_KIT = "(no brand kit)"
MODEL_CHOICES = {
    "default": "Default (AIGC_TEXT_GENERATION_MODEL)",
    "promoted": "Brand-voice model (promoted in the registry)",
    "custom": "Hub id, folder or registry:<id>",
}
VERSION_CHOICE = {"version": "A fine-tuned version (registry)"}  # instead of "custom" for non-admins
DEFAULTS: dict[str, Any] = {
    "copy_channel": "social_post",
    "copy_language": "en",
    "copy_tone": "friendly",
    "copy_n": 4,
    "copy_creativity": 0.6,
    "copy_temperature": 0.8,
    "copy_top_p": 0.95,
    "copy_top_k": 50,
    "copy_rep": 1.1,
    "copy_max_new": 0,
    "copy_max_length": 0,
}
# Names of the tie-breaker scores (ranking weights): they only order variants that pass the same checks.
BADGE_NAMES = {
    "limits": "Fits untrimmed",
    "guardrails": "Brand kit",
    "sentiment": "Positive tone",
    "readability": "Readability",
    "uniqueness": "Uniqueness",
}
LANGUAGE_NAMES = {"en": "English", "zh": "中文"}

page_header(
    "Ad copy",
    "Write a brief (product, audience, channel, tone, language) and get variants that state your key points, "
    "invent nothing, fit the channel and respect your brand's rules — each one checked.",
)


def apply_prefill() -> None:
    """Fill the brief widgets from a request of another page (e.g. 'draft a reply' in the sentiment monitor)."""
    prefill = st.session_state.pop(PREFILL_KEY, None)
    if not isinstance(prefill, dict):
        return
    for field, key in FIELD_KEYS.items():
        if field in prefill and prefill[field] not in (None, ""):
            value = prefill[field]
            if field == "key_points" and isinstance(value, list):
                value = "\n".join(str(v) for v in value)
            if field == "brand_kit":
                value = value if value in kit_names() else NO_KIT
            st.session_state[key] = value
    st.session_state["copy_prefilled"] = True


def promoted_brand_voice() -> bool:
    """True when a brand-voice (text-generation) model version is promoted in the registry."""
    return promoted("text-generation") is not None


def kit_names() -> list[str]:
    """Names of the saved brand kits."""
    return guard(copy_api.kit_names) or []


def model_choices() -> dict[str, str]:
    """The model picker's options: admins may type a hub id or folder; others pick a registry version."""
    if current().is_admin:
        return MODEL_CHOICES
    return {**{k: v for k, v in MODEL_CHOICES.items() if k != "custom"}, **VERSION_CHOICE}


def model_value() -> str:
    """The model field of the brief from the model widgets."""
    choice = st.session_state.get("copy_model_choice", "default")
    if choice == "promoted":
        return "registry:promoted"
    if choice == "custom":  # the engine refuses a folder or hub id from a non-admin
        return str(st.session_state.get("copy_model_text", "")).strip()
    if choice == "version":
        return str(st.session_state.get("copy_model_version") or "")
    return ""


def brief_from_widgets() -> dict[str, Any]:
    """The brief as a dict of Brief fields, read from the widgets."""
    ss = st.session_state
    data: dict[str, Any] = {field: ss.get(key) for field, key in FIELD_KEYS.items()}
    data["brand_kit"] = "" if data["brand_kit"] in (None, NO_KIT) else data["brand_kit"]
    data["tone"] = data["tone"] or ""
    data["model"] = model_value()
    if ss.get("copy_advanced"):
        data.update(
            temperature=ss.get("copy_temperature"),
            top_p=ss.get("copy_top_p"),
            top_k=ss.get("copy_top_k"),
            repetition_penalty=ss.get("copy_rep"),
            max_new_tokens=ss.get("copy_max_new") or None,
        )
    seed = str(ss.get("copy_seed", "")).strip()
    if seed:
        if not seed.isdigit():
            raise UserInputError(
                f"The seed {seed!r} is not a whole number.", hint="Leave it empty for a random seed, or type e.g. 42."
            )
        data["seed"] = int(seed)
    limit = ss.get("copy_max_length") or 0
    data["max_length"] = int(limit) if limit else None
    return data


def retry_with_new_seed() -> None:
    """Write a fresh set of candidates for the same brief: a new random seed, nothing else changed."""
    st.session_state["copy_seed"] = ""
    st.session_state["copy_regenerate"] = True


# ----------------------------------------------------------------------------------------------
# Generate tab
# ----------------------------------------------------------------------------------------------
EXAMPLE_BRIEF = {
    "copy_product": "AquaPure insulated bottle",
    "copy_points": "Keeps drinks cold for 24 hours\nBPA-free steel\nLifetime warranty",
    "copy_audience": "Hikers and trail runners",
    "copy_channel": "social_post",
    "copy_language": "en",
}


def _fill_example() -> None:
    """Fill the brief with a sample (a callback: it runs before the widgets are drawn)."""
    st.session_state.update(EXAMPLE_BRIEF)


def brief_form(kits: list[str]) -> None:
    """The brief widgets."""
    c1, c2 = st.columns(2)
    with c1:
        st.text_input("Product or brand", key="copy_product", placeholder="e.g. the product's name as you sell it")
        st.text_area(
            "Key points (one per line)",
            key="copy_points",
            height=120,
            placeholder="One fact per line: what it does, what it is made of, the offer",
        )
        st.text_input("Audience", key="copy_audience", placeholder="e.g. who buys it")
        st.button("Try an example brief", key="copy_example", icon=":material/lightbulb:", on_click=_fill_example)
    with c2:
        st.selectbox("Channel", list(copy_api.CHANNELS), format_func=copy_api.CHANNELS.get, key="copy_channel")
        st.selectbox("Language", list(copy_api.LANGUAGES), format_func=copy_api.LANGUAGES.get, key="copy_language")
        t1, t2 = st.columns(2)
        t1.selectbox("Tone", ["", *copy_api.TONES], format_func=lambda t: t.capitalize() or "(none)", key="copy_tone")
        t2.text_input("Tone, in your words", key="copy_tone_text", placeholder="witty, no jargon")
        n1, n2 = st.columns(2)
        n1.number_input("Variants", min_value=1, max_value=12, step=1, key="copy_n")
        n2.slider("Creativity", 0.0, 1.0, step=0.05, key="copy_creativity", help="Maps to temperature and top-p.")
        st.selectbox("Brand kit", [NO_KIT, *kits], key="copy_kit")
    with st.expander("Advanced: model, sampling, seed, length"):
        choices = model_choices()
        if st.session_state.get("copy_model_choice") not in choices:
            st.session_state["copy_model_choice"] = "default"
        st.radio("Model", list(choices), format_func=choices.get, key="copy_model_choice", horizontal=True)
        if st.session_state.get("copy_model_choice") == "custom":
            st.text_input("Model", key="copy_model_text", placeholder="HuggingFaceTB/SmolLM2-360M-Instruct")
        elif st.session_state.get("copy_model_choice") == "version":
            versions = guard(list_versions, "text-generation") or []
            names = {v.ref: f"{v.name} ({v.id})" for v in versions}
            st.selectbox(
                "Version", list(names), format_func=names.get, key="copy_model_version",
                placeholder="No fine-tuned language model you may use yet",
            )  # fmt: skip
        st.checkbox("Override the sampling that creativity sets", key="copy_advanced")
        a1, a2, a3 = st.columns(3)
        a1.number_input("Temperature", 0.05, 2.0, step=0.05, key="copy_temperature")
        a2.number_input("Top-p", 0.05, 1.0, step=0.01, key="copy_top_p")
        a3.number_input("Top-k", 0, 1000, step=1, key="copy_top_k")
        b1, b2, b3 = st.columns(3)
        b1.number_input("Repetition penalty", 1.0, 2.0, step=0.05, key="copy_rep")
        b2.number_input("Max new tokens (0 = by channel)", 0, 1024, step=8, key="copy_max_new")
        b3.text_input("Seed (empty = random)", key="copy_seed")
        channel = st.session_state.get("copy_channel", "social_post")
        spec = copy_api.CHANNEL_LIMITS[channel]
        lang = st.session_state.get("copy_language", "en")
        st.number_input(
            f"Shorter limit, in {copy_api.UNIT_NAMES[spec.unit]} (0 = the channel's {spec.max_for(lang)})",
            0,
            5000,
            step=1,
            key="copy_max_length",
            help=f"Counted in {copy_api.UNIT_HELP[spec.unit]}. {spec.why}",
        )


def run_generation(kits: list[str]) -> None:
    """Validate the brief, stream the first candidate as plain text, then keep the checked result in the session."""
    try:
        brief = copy_api.validate_brief(brief_from_widgets())
    except Exception as exc:
        show_error(exc)
        return
    with st.spinner("Loading the language model (the first time converts the embedded model, ~30 s)…"):
        run = guard(copy_api.start_copy, brief, save=True)
    if run is None:
        return
    waiting = st.empty()  # other users' requests run first: say so, and where this one is in the queue
    run.wait_turn(
        lambda ahead: waiting.info(
            f"Queued: {ahead} request{'s' if ahead > 1 else ''} from other users run first on the language model. "
            "Yours starts after them.",
            icon=":material/hourglass_top:",
        )
    )
    waiting.empty()
    st.caption("First candidate, as the model writes it (raw: before cleaning and checks):")
    with st.container(border=True):
        stream_plain(run.stream())
    with st.spinner("Writing the other candidates and checking each one…"):
        result = guard(run.result)
    if result is not None:
        st.session_state[RESULT_KEY] = result
        st.session_state.pop("copy_weights_applied", None)


def stream_plain(chunks: Any, every_s: float = 0.05) -> str:
    """Show streamed model output in one placeholder as plain text (never Markdown); returns the whole text."""
    box = st.empty()
    text, shown_at = "", 0.0
    for chunk in chunks:
        text += chunk
        if time.monotonic() - shown_at >= every_s:
            box.code(text, language=None, wrap_lines=True)
            shown_at = time.monotonic()
    if text:
        box.code(text, language=None, wrap_lines=True)
    else:
        box.caption("(the model streamed nothing)")
    return text


def _badge(color: str, text: str) -> str:
    return f":{color}-badge[{literal(text)}]"


def badges(variant: dict[str, Any], brief: dict[str, Any]) -> list[str]:
    """The badges of one variant (Markdown, every text from the brief or the model escaped): what its checks
    found, its channel limit and the brand kit. Rows from before the copy checks have no 'checks'."""
    product = str(brief.get("product") or "")
    kit = str(brief.get("brand_kit") or "")
    rep = variant.get("checks") or None
    limit = variant.get("limit") or {}
    violations = variant.get("violations") or []
    parts: list[str] = []
    if rep is None:
        parts.append(_badge("gray", "Not checked (written before the copy checks)"))
    else:
        points = list(rep.get("points") or [])
        covered = list(rep.get("covered_points") or [points[i] for i in rep.get("covered") or [] if i < len(points)])
        need = int(rep.get("needs_points") or 0)
        if points:
            label = f"Covers {len(covered)}/{len(points)}" + (": " + ", ".join(covered) if covered else "")
            parts.append(_badge("green" if len(covered) >= need else "orange", label))
            missing = [p for p in points if p not in covered]
            if missing:
                parts.append(_badge("gray", "Not stated: " + ", ".join(missing)))
        name = product.strip() or "the product"
        if rep.get("product_named"):
            if product.strip():
                parts.append(_badge("green", f"Names {name} ✓"))
        elif rep.get("needs_product", True):
            parts.append(_badge("red", f"Names {name} ✗"))
        else:
            parts.append(_badge("gray", f"Does not name {name} (not needed here)"))
        findings = list(rep.get("findings") or [])
        if not findings:
            parts.append(_badge("green", "No invented details found ✓"))
        for f in findings:
            if f.get("severity") == "review":
                parts.append(_badge("orange", f"Check: {f.get('text', '')}"))
            else:
                parts.append(_badge("red", str(f.get("reason") or f.get("text", ""))))
        code = str(rep.get("language") or "")
        lang = LANGUAGE_NAMES.get(code, code.upper() or "Language unknown")
        parts.append(_badge("green" if rep.get("language_ok", True) else "red", lang))
    if limit:
        parts.append(_badge("green" if limit.get("ok", True) else "red", str(limit.get("label", ""))))
    if violations:
        parts.append(_badge("red", f"Brand kit: {len(violations)} issue(s)"))
    else:
        parts.append(_badge("green", f"Brand kit {kit}: clean") if kit else _badge("gray", "No brand kit"))
    return parts


def variant_cards(
    gid: str | None, variants: list[dict[str, Any]], order: list[int], prefix: str, brief: dict[str, Any]
) -> list[int]:
    """One card per variant (best first); returns the stored indices the user selected."""
    hide = st.session_state.get("copy_hide_flagged", False)
    selected: list[int] = []
    for rank, idx in enumerate(order, start=1):
        v = variants[idx]
        violations = v.get("violations") or []
        keep = st.session_state.get(f"{prefix}_keep_{idx}", False)
        if violations and hide and not keep:
            continue
        with st.container(border=True):
            head, sel = st.columns([6, 1])
            head.markdown(f"**#{rank}**")
            if sel.checkbox("Select", key=f"{prefix}_sel_{idx}"):
                selected.append(idx)
            st.code(v["text"], language=None, wrap_lines=True)  # plain text, never Markdown
            st.markdown(" ".join(badges(v, brief)))
            for x in violations:
                st.markdown(f":red[⚠ {literal(x['reason'])}]")
            if violations:
                st.toggle("Keep despite the flags", key=f"{prefix}_keep_{idx}")
            for ver in v.get("versions") or []:  # edits are kept as new versions; the generated text stays above
                st.caption(f"Edited (version {ver.get('version')}) by {literal(ver.get('by') or '')}")
                st.code(ver.get("text", ""), language=None, wrap_lines=True)
            if gid:
                b1, b2, b3, b4, b5, _ = st.columns([1, 1, 1, 1, 1, 3])
                rating = int(v.get("rating", 0))
                # Material icons ship with Streamlit: emoji buttons were empty boxes without an emoji font
                up, down = rating == 1, rating == -1
                if b1.button(
                    "✓" if up else "",
                    icon=":material/thumb_up:",
                    key=f"{prefix}_up_{idx}",
                    help="Good copy",
                    type="primary" if up else "secondary",
                ):
                    _feedback(gid, idx, "unrated" if up else "up")
                if b2.button(
                    "✓" if down else "",
                    icon=":material/thumb_down:",
                    key=f"{prefix}_down_{idx}",
                    help="Bad copy",
                    type="primary" if down else "secondary",
                ):
                    _feedback(gid, idx, "unrated" if down else "down")
                fav = bool(v.get("favourite"))
                if b3.button(
                    "",
                    icon=":material/star:" if fav else ":material/star_border:",
                    key=f"{prefix}_fav_{idx}",
                    help="Remove from favourites" if fav else "Favourite",
                    type="primary" if fav else "secondary",
                ):
                    _update(copy_api.set_favourite, gid, idx, not fav)
                used = bool(v.get("used"))
                if b4.button(
                    "Used" if used else "Use",
                    icon=":material/check_circle:",
                    key=f"{prefix}_used_{idx}",
                    help="Unmark: not used" if used else "Mark as used (the copy you published)",
                    type="primary" if used else "secondary",
                ):
                    _feedback(gid, idx, "unused" if used else "used")
                b5.toggle("Edit", key=f"{prefix}_editing_{idx}", help="Keep your edit as a new version")
                if st.session_state.get(f"{prefix}_editing_{idx}"):
                    st.text_area(
                        "Your version of this copy", value=feedback_api.latest_text(v), key=f"{prefix}_edit_text_{idx}"
                    )
                    if st.button("Save edit", key=f"{prefix}_edit_save_{idx}"):
                        _feedback(gid, idx, "edit", st.session_state.get(f"{prefix}_edit_text_{idx}", ""))
    return selected


def _feedback(gid: str, idx: int, action: str, text: str = "") -> None:
    """Record feedback on one variant (kept with the brief, model and settings) and refresh the cards."""
    entry = guard(feedback_api.give_feedback, gid, idx, action, text)
    if entry is not None:
        result = st.session_state.get(RESULT_KEY)
        if result is not None and result.generation_id == gid:
            for i, v in enumerate(result.variants):
                v.rating = int(entry.variants[i].get("rating", 0))
        st.rerun()


def _with_feedback(gid: str | None, variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The variants with their stored feedback (used, edits) from the history entry."""
    entry = guard(copy_api.get_entry, gid) if gid else None
    if entry is None:
        return variants
    for v, saved in zip(variants, entry.variants, strict=False):
        v.update({k: saved[k] for k in ("used", "versions", "rating") if k in saved})
    return variants


def held_back_view(held: list[Any]) -> None:
    """Candidates that failed a check, collapsed, with why: for inspection, never offered for use."""
    if not held:
        return
    with st.expander(f"Held back: {len(held)} candidates that failed a check", expanded=False):
        st.caption(
            "Not recommended: each of these failed at least one check, so it cannot be selected or exported. "
            "They are here so you can see what the model wrote and why it was held back."
        )
        for i, v in enumerate(held, start=1):
            with st.container(border=True):
                st.text(f"{i}. {v.text}")  # plain text, never Markdown
                st.markdown("\n".join(f"- :red[✗ {literal(reason)}]" for reason in v.failures()))


def _update(fn: Any, gid: str, idx: int, value: Any) -> None:
    entry = guard(fn, gid, idx, value)
    if entry is not None:
        result = st.session_state.get(RESULT_KEY)
        if result is not None and result.generation_id == gid:
            for i, v in enumerate(result.variants):
                v.rating = int(entry.variants[i].get("rating", 0))
                v.favourite = bool(entry.variants[i].get("favourite", False))
        st.rerun()


def export_controls(gid: str | None, selected: list[int], prefix: str) -> None:
    """Export the selected variants and send favourites to the brand-voice dataset."""
    c1, c2, c3 = st.columns([1, 2, 2])
    fmt = c1.selectbox("Format", copy_api.EXPORT_FORMATS, key=f"{prefix}_fmt")
    entry = guard(copy_api.get_entry, gid) if gid else None
    if entry is not None and selected:
        data = guard(copy_api.export, [(entry, i) for i in selected], fmt)
        if data is not None:
            ext = {"csv": "csv", "json": "json", "markdown": "md"}[fmt]
            c2.download_button(
                f"Export {len(selected)} selected", data, file_name=f"ad_copy_{gid}.{ext}", key=f"{prefix}_dl"
            )
    else:
        c2.caption("Tick variants to export them.")
    if c3.button("Use favourites as training examples", key=f"{prefix}_train"):
        version = guard(copy_api.add_training_examples)
        if version:
            st.success(
                f"Added to the dataset “brand-voice examples” (version id {version}). Fine-tune on it from "
                "the Fine-tune page."
            )


def too_few_note(result: Any) -> str:
    """The engine's note on why fewer variants than asked passed, with the hint on what to try (escaped)."""
    note = result.shortfall or f"Only {len(result.variants)} of {result.brief.n_variants} variants passed every check."
    return literal(note if copy_api.NOTHING_USABLE_HINT in note else f"{note} {copy_api.NOTHING_USABLE_HINT}")


def result_view() -> None:
    """The checked variants of the last generation, and the candidates held back."""
    result = st.session_state.get(RESULT_KEY)
    if result is None:
        return
    asked = int(result.brief.n_variants)
    few = len(result.variants) < asked
    warned = too_few_note(result) if few else ""
    examples = f" + {result.n_examples} examples" if result.n_examples else ""
    backend = literal(result.backend or "unknown backend")
    st.caption(
        f"{len(result.variants)} variants · {literal(result.model)} · {backend} · {result.candidates} candidates "
        f"checked · template {literal(result.template)}{examples} · seed {result.seed} · "
        f"{result.tokens_per_s:.1f} tokens/s"
        + (f" · first token after {result.first_token_s:.2f} s" if result.first_token_s else "")
    )
    for note in result.notes:
        if not (few and note == result.shortfall):
            st.caption(f"ℹ️ {literal(note)}")
    if not result.usable:
        st.warning(
            f"Nothing to show for this brief. {warned}",
            icon=":material/block:",
        )
        st.button("Write new candidates (same brief, new random seed)", key="copy_retry", on_click=retry_with_new_seed)
        held_back_view(result.held_back)
        return
    if few:
        st.warning(warned, icon=":material/warning:")
    with st.expander("Tie-breakers: order among variants that pass the same checks"):
        st.caption(
            "Variants that pass more checks always come first; these weights only order variants whose checks "
            "came out the same."
        )
        cols = st.columns(len(SCORES))
        weights = {
            name: cols[i].slider(
                BADGE_NAMES[name], 0.0, 3.0, float(copy_api.DEFAULT_WEIGHTS[name]), 0.25, key=f"copy_w_{name}"
            )
            for i, name in enumerate(SCORES)
        }
    if any(v.violations for v in result.variants):
        st.toggle("Hide variants the brand kit flags", key="copy_hide_flagged")
    ranked = copy_api.rerank(list(result.variants), weights)
    stored = _with_feedback(result.generation_id, [v.to_dict() for v in result.variants])
    order = [next(i for i, v in enumerate(result.variants) if v is r) for r in ranked]
    if result.variants:
        st.caption(checks_caveat())
    selected = variant_cards(result.generation_id, stored, order, "copy_v", result.brief.model_dump())
    export_controls(result.generation_id, selected, "copy_v")
    held_back_view(result.held_back)


# ----------------------------------------------------------------------------------------------
# Brand kit tab
# ----------------------------------------------------------------------------------------------
def kit_editor(kits: list[str]) -> None:
    """Create, edit and delete brand kits (every kit is the team's; its owner or an admin changes it)."""
    from aigc_core.copy.guardrails import can_change_kit

    who = current()
    new = ["(new kit)"] if who.can_create else []
    if not new and not kits:
        empty_state("No brand kits yet.", hint="An editor or an admin creates them here.")
        return
    choice = st.selectbox("Brand kit", [*new, *kits], key="copy_kit_edit")
    kit = guard(copy_api.get_kit, choice) if choice != "(new kit)" else None
    if choice != "(new kit)" and kit is None:
        return
    editable = kit is None or can_change_kit(kit)
    if kit is not None:
        st.caption(
            f"Owner: {literal(kit.owner) or '—'}"
            + ("" if editable else " · everyone uses this kit; only its owner or an admin changes it")
        )
    suffix = kit.id if kit else "new"
    name = st.text_input("Name", value=kit.name if kit else "", key=f"copy_kit_name_{suffix}", disabled=not editable)
    voice = st.text_area(
        "Voice",
        value=kit.voice if kit else "",
        key=f"copy_kit_voice_{suffix}",
        placeholder="Warm, plain words, no hype.",
        disabled=not editable,
    )
    banned = st.text_area(
        "Banned words and claims (one per line)",
        value="\n".join(kit.banned if kit else copy_api.DEFAULT_BANNED),
        key=f"copy_kit_banned_{suffix}",
        disabled=not editable,
    )
    competitors = st.text_area(
        "Competitor names (one per line)",
        value="\n".join(kit.competitors if kit else []),
        key=f"copy_kit_comp_{suffix}",
        disabled=not editable,
    )
    st.markdown("**Required phrases or disclaimers** (one per line, per channel)")
    required: dict[str, str] = {}
    channels = {ALL_CHANNELS: "Every channel", **copy_api.CHANNELS}
    cols = st.columns(2)
    for i, (ch, label) in enumerate(channels.items()):
        phrases = "\n".join(kit.required.get(ch, [])) if kit else ""
        required[ch] = cols[i % 2].text_area(
            label, value=phrases, key=f"copy_kit_req_{ch}_{suffix}", height=68, disabled=not editable
        )
    if not editable:
        return
    b1, b2 = st.columns(2)
    if b1.button("Save brand kit", key="copy_kit_save", type="primary"):
        saved = guard(
            copy_api.save_kit,
            name,
            voice=voice,
            banned=banned,
            competitors=competitors,
            required={k: v for k, v in required.items() if v.strip()},
            kit_id=kit.id if kit else None,
        )
        if saved is not None:
            st.success(f"Saved “{literal(saved.name)}”.")
    if kit is not None and b2.button("Delete brand kit", key="copy_kit_delete"):
        try:
            copy_api.delete_kit(kit.id)
            st.success(f"Deleted “{literal(kit.name)}”. Past generations keep their checks.")
        except Exception as exc:
            show_error(exc)


# ----------------------------------------------------------------------------------------------
# History tab
# ----------------------------------------------------------------------------------------------
def history_view() -> None:
    """Search past generations, rate, favourite and export."""
    c1, c2 = st.columns([3, 1])
    query = c1.text_input("Search briefs and copy", key="copy_hist_search")
    fav_only = c2.checkbox("Favourites only", key="copy_hist_fav")
    entries = guard(copy_api.list_history, query, favourites_only=fav_only, limit=30) or []
    if not entries:
        empty_state(
            "No generations yet." if not query else "Nothing matches this search.",
            hint="Generated variants are kept here with their brief, model, seed and checks.",
        )
        return
    for e in entries:
        title = (
            f"{e.created_at:%Y-%m-%d %H:%M} · {literal(e.brief.get('product') or 'Untitled')} · "
            f"{copy_api.CHANNELS.get(e.brief.get('channel', ''), '')} · {len(e.variants)} variants"
        )
        with st.expander(title):
            st.caption(
                f"Model {literal(e.model)} {literal(e.model_revision)} · seed {e.seed} · template {literal(e.template)}"
            )
            if not e.variants:  # nothing passed: history keeps no held-back candidates, only the notes
                for note in e.notes:
                    st.caption(f"ℹ️ {literal(note)}")
                continue
            order = list(range(len(e.variants)))  # stored best first (the checks rank before any score)
            selected = variant_cards(e.id, e.variants, order, f"copy_h_{e.id}", e.brief)
            export_controls(e.id, selected, f"copy_h_{e.id}")


# ----------------------------------------------------------------------------------------------
# Batch tab
# ----------------------------------------------------------------------------------------------
class _PageContext:
    """A job context that runs the batch in this session and shows its progress."""

    def __init__(self, work_dir: Any) -> None:
        self.work_dir = work_dir
        self.bar = st.progress(0.0, text="Starting…")

    def report(self, progress: float, message: str = "") -> None:
        self.bar.progress(min(1.0, max(0.0, progress)), text=literal(message))

    def log(self, line: str) -> None:
        st.caption(literal(line))

    def should_stop(self) -> bool:
        return False


def batch_view(kits: list[str]) -> None:
    """Upload a product list, map columns, submit the job, download the result."""
    job_status()
    up = st.file_uploader("Product list (CSV)", type=["csv", "tsv", "txt"], key="copy_batch_file")
    if up is None:
        empty_state(
            "Upload a CSV with one product per row (e.g. columns name, features, audience, channel).",
            hint="Each row gets N variants with the same checks and scores as above, in one CSV.",
        )
        return
    data = up.getvalue()
    df = guard(copy_api.read_products, data)
    if df is None:
        return
    st.dataframe(df.head(5), width="stretch")
    guess = copy_api.suggest_mapping(list(df.columns))
    st.markdown("**Column mapping**")
    cols = st.columns(4)
    mapping: dict[str, str] = {}
    options = ["", *df.columns]
    for i, field in enumerate(("product", "key_points", "audience", "channel", "tone", "tone_text", "language")):
        value = cols[i % 4].selectbox(
            field.replace("_", " ").capitalize(),
            options,
            index=options.index(guess[field]) if field in guess else 0,
            key=f"copy_map_{field}",
        )
        if value:
            mapping[field] = value
    st.markdown("**Defaults for rows without a value**")
    d1, d2, d3, d4 = st.columns(4)
    channel = d1.selectbox(
        "Channel", list(copy_api.CHANNELS), format_func=copy_api.CHANNELS.get, key="copy_batch_channel"
    )
    language = d2.selectbox(
        "Language", list(copy_api.LANGUAGES), format_func=copy_api.LANGUAGES.get, key="copy_batch_language"
    )
    n = d3.number_input("Variants per row", 1, 12, 3, key="copy_batch_n")
    kit = d4.selectbox("Brand kit", [NO_KIT, *kits], key="copy_batch_kit")
    params = {
        "mapping": mapping,
        "defaults": {"channel": channel, "language": language, "tone": "friendly"},
        "n_variants": int(n),
        "brand_kit": "" if kit == NO_KIT else kit,
        "model": model_value(),
        "output_name": f"ad_copy_{safe_name(up.name.rsplit('.', 1)[0], default='batch')}.csv",
    }
    b1, b2 = st.columns(2)
    if b1.button("Submit batch job", key="copy_batch_submit", type="primary"):
        path = guard(copy_api.save_upload, data, up.name)
        if path is not None:
            job_id = guard(copy_api.submit_batch, {**params, "input_path": str(path)})
            if job_id:
                st.session_state["copy_batch_job"] = job_id
                st.session_state.pop("copy_batch_output", None)
                st.rerun()
    if len(df) <= 20 and b2.button("Run here now (small lists)", key="copy_batch_now"):
        path = guard(copy_api.save_upload, data, up.name)
        if path is not None:
            from aigc_core.storage import folder

            out = guard(copy_api.run_batch, _PageContext(folder("exports")), {**params, "input_path": str(path)})
            if out:
                st.session_state["copy_batch_output"] = out["output"]
                st.session_state["copy_batch_flash"] = (
                    f"{out['ok']} of {out['rows']} rows done, {out['failed']} failed."
                )
                st.session_state.pop("copy_batch_job", None)
                st.rerun()  # show the download button at the top


def job_status() -> None:
    """The submitted batch job (refreshing itself while it runs) and the CSV of the last batch."""
    from pathlib import Path

    flash = st.session_state.pop("copy_batch_flash", None)
    if flash:
        st.success(literal(flash))
    job_id = st.session_state.get("copy_batch_job")
    if job_id:
        link_to_page("pages/models_jobs.py", f"Job {job_id}: also on Models & jobs", icon=":material/memory:")
        _job_progress()
    output = st.session_state.get("copy_batch_output")
    if output and Path(output).is_file():
        st.download_button(
            "Download the CSV",
            Path(output).read_bytes(),
            file_name=Path(output).name,
            mime="text/csv",
            key="copy_batch_download",
        )


@st.fragment(run_every=2)
def _job_progress() -> None:
    job_id = st.session_state.get("copy_batch_job")
    job = guard(copy_api.batch_job, job_id) if job_id else None
    if job is None:
        return
    progress_bar(job.progress, literal(f"{job.status}: {job.message}"))
    if not job.finished:
        return
    output = (job.result or {}).get("output")
    if job.status == "succeeded" and output:
        st.session_state["copy_batch_output"] = output
    elif job.status != "succeeded":
        st.error(f"The batch job {job.status}: {literal(job.error or job.message)}")
    rerun_page_when_done(job, "copy_batch_seen_done")  # the download button is outside this fragment


# ----------------------------------------------------------------------------------------------
for _key, _value in DEFAULTS.items():
    st.session_state.setdefault(_key, _value)
if "copy_model_choice" not in st.session_state:  # a promoted brand-voice model is the default choice
    st.session_state["copy_model_choice"] = "promoted" if guard(promoted_brand_voice) else "default"
apply_prefill()
kits = kit_names()
if st.session_state.pop("copy_prefilled", False):
    st.info("The brief was filled in from another page; check it and press Generate.", icon=":material/edit:")
tab_gen, tab_kit, tab_hist, tab_batch = st.tabs(["Generate", "Brand kit", "History", "Batch"])
with tab_gen:
    brief_form(kits)
    if st.session_state.get("copy_model_choice", "default") == "default":
        notice = guard(language_notice, st.session_state.get("copy_language", "en"))
        if notice:
            st.warning(literal(notice), icon=":material/translate:")
    generate = st.button("Generate", key="copy_generate", type="primary")
    if st.session_state.pop("copy_regenerate", False) or generate:
        run_generation(kits)
    result_view()
with tab_kit:
    kit_editor(kits)
with tab_hist:
    history_view()
with tab_batch:
    batch_view(kits)
