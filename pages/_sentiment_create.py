"""Creating a monitor on the Sentiment page: from an upload or a dataset version, the column mapping, the model;
and the demo stream."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from aigc_core.monitor import choices, demo, ingest, sources, store
from pages._sentiment_common import FLASH_REPORT, MONITOR_KEY, me
from pages._sentiment_scoring import score
from pages._ui import guard, literal

ROLE_HELP = {
    "text": "The text to score (required).",
    "timestamp": "When it was posted (required). Mixed time zones are converted to UTC.",
    "topic": "Optional: a topic/category column for per-topic charts and rules.",
    "source": "Optional: where it came from (channel, platform).",
    "author": "Optional: who wrote it.",
    "id": "Optional: a unique id; duplicates are dropped (the first is kept).",
}
NONE = "(none)"


def model_picker(prefix: str, current: str = "embedded") -> str:
    """The model radio (embedded, hub id or folder for admins, a registry classifier); returns the model value."""
    is_admin = me().is_admin
    kinds = {"embedded": "Embedded (offline MiniLM, 3 classes)", "hub": "Hub id or folder", "registry": "Registry"}
    start = "registry" if current.startswith("registry:") else "embedded" if current == "embedded" else "hub"
    if not is_admin:  # only admins load a folder or hub id; others keep one an admin picked, or leave it
        if start == "hub":
            kinds = {"hub": f"Keep {current}", **{k: v for k, v in kinds.items() if k != "hub"}}
        else:
            kinds.pop("hub")
    kind = st.radio(
        "Model",
        list(kinds),
        format_func=kinds.get,
        index=list(kinds).index(start),
        horizontal=True,
        key=f"{prefix}_model_kind",
    )
    if kind == "embedded":
        return "embedded"
    if kind == "hub" and not is_admin:
        return current
    if kind == "hub":
        return st.text_input(
            "Hub id or folder",
            value="" if start != "hub" else current,
            placeholder="e.g. cardiffnlp/twitter-xlm-roberta-base-sentiment",
            key=f"{prefix}_model_hub",
        ).strip()
    options = guard(choices.registry_classifiers) or []
    if not options:
        st.caption("No fine-tuned text classifier in the registry yet (train one on the Fine-tune page).")
        return ""
    labels = dict(options)
    return st.selectbox("Classifier", list(labels), format_func=labels.get, key=f"{prefix}_model_reg") or ""


def mapping_widgets(prefix: str, columns: list[str], preset: dict[str, str]) -> dict[str, str | None]:
    """One select box per column role, preset from ``preset``; returns ``{role: column or None}``."""
    cols = st.columns(3)
    out: dict[str, str | None] = {}
    for i, role in enumerate(ingest.ROLES):
        options = [NONE, *columns]
        guess = preset.get(role)
        index = options.index(guess) if guess in options else 0
        with cols[i % 3]:
            value = st.selectbox(
                f"{role.capitalize()} column" + (" *" if role in ingest.REQUIRED_ROLES else ""),
                options,
                index=index,
                help=ROLE_HELP[role],
                key=f"{prefix}_role_{role}",
            )
        out[role] = None if value == NONE else value
    return out


def creator() -> None:
    """The 'New monitor' form: data, column mapping, name, model, label mapping; creates and scores."""
    source = st.radio(
        "Data", ["upload", "dataset"], format_func={"upload": "Upload a file", "dataset": "Dataset version"}.get,
        horizontal=True, key="sent_new_source",
    )  # fmt: skip
    frame: pd.DataFrame | None = None
    version_id: str | None = None
    preset: dict[str, str] = {}
    if source == "dataset":
        versions = guard(choices.dataset_versions) or []
        if not versions:
            st.caption("No dataset yet: import one on the Data page, or upload a file here.")
            return
        labels = dict(versions)
        version_id = st.selectbox("Dataset version", list(labels), format_func=labels.get, key="sent_new_version")
        if version_id:
            frame = guard(sources.load_dataset_version, version_id)
            preset = guard(sources.dataset_roles, version_id) or {}
    else:
        up = st.file_uploader(
            "Texts with timestamps (CSV, TSV, XLSX, JSON, JSONL, Parquet)",
            type=["csv", "tsv", "xlsx", "json", "jsonl", "parquet", "txt"],
            key="sent_new_upload",
        )
        if up is not None:
            frame = guard(ingest.read_table, up.getvalue(), up.name)
    if frame is None:
        return
    st.caption(f"{len(frame):,} rows · columns: {literal(', '.join(map(str, frame.columns)))}")
    columns = [str(c) for c in frame.columns]
    preset = {**ingest.guess_mapping(columns), **preset}
    mapping = mapping_widgets("sent_new", columns, preset)
    name = st.text_input("Monitor name", placeholder="e.g. Airline tweets", key="sent_new_name")
    model = model_picker("sent_new", guard(choices.default_model) or "embedded")
    label_map = st.text_input(
        "Label mapping (only for models whose labels are not negative/neutral/positive)",
        placeholder="LABEL_0=negative,LABEL_1=neutral,LABEL_2=positive",
        key="sent_new_label_map",
    )
    if st.button("Create monitor and score", type="primary", key="sent_new_create", icon=":material/add_chart:"):
        result = guard(
            store.create_monitor,
            name,
            mapping=mapping,
            frame=frame,
            dataset_version_id=version_id,
            model=model,
            label_map=label_map or None,
        )
        if result is not None:
            info, report = result
            st.session_state[MONITOR_KEY] = info.id
            st.session_state[FLASH_REPORT] = report.summary()
            score(info.id)
            st.rerun()


def demo_button() -> None:
    """What the demo stream is, and the button that starts it."""
    st.caption(
        "**Demo stream:** replays the sample tweets. They have no real timestamps, so **replay timestamps are "
        "assigned for the demo** (with a planted complaint spike); the scores are real. Two daily alert rules are "
        "added; stream the rest of the replay with 'Next demo batch'."
    )
    if st.button("Start demo stream", key="sent_demo_start", icon=":material/play_circle:"):
        result = guard(demo.start_demo_stream)
        if result is not None:
            info, report = result
            st.session_state[MONITOR_KEY] = info.id
            st.session_state[FLASH_REPORT] = report.summary()
            score(info.id)
            st.rerun()
