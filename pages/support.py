"""Support replies: build a knowledge base from FAQ tables, past tickets and documents, test its retrieval, and
draft ticket replies grounded in cited passages (with the checks an agent must see before sending)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from aigc_core import jobs
from aigc_core.copy.guardrails import kit_names
from aigc_core.data.versions import list_versions as dataset_versions
from aigc_core.settings import get_settings
from aigc_core.support import jobs as sj
from aigc_core.support import kb
from aigc_core.support import reply as rp
from aigc_core.support.reply import SUPPORT_PREFILL_KEY
from pages._jobs_widgets import progress_bar, rerun_page_when_done
from pages._ui import empty_state, guard, literal, page_header

page_header(
    "Support replies",
    "A knowledge base of your FAQ, past tickets and policies; replies drafted from it that cite their sources, and "
    "hand the ticket to a person when nothing relevant is found.",
)
cfg = get_settings()
ALERT_TICKETS_KEY = "support_alert_tickets"  # list[rp.Ticket]: set from SUPPORT_PREFILL_KEY (the Sentiment page)
if SUPPORT_PREFILL_KEY in st.session_state:
    made_tickets = guard(rp.tickets_from_texts, st.session_state.pop(SUPPORT_PREFILL_KEY))
    if made_tickets:
        st.session_state[ALERT_TICKETS_KEY] = made_tickets
if st.session_state.get(ALERT_TICKETS_KEY):
    st.info(
        f"{len(st.session_state[ALERT_TICKETS_KEY])} ticket(s) from a sentiment alert: pick a knowledge base, then "
        "choose one under **Draft a reply**.",
        icon=":material/support_agent:",
    )
KIND_LABELS = {"auto": "Detect", "faq": "FAQ table", "tickets": "Past tickets", "document": "Document"}


# ------------------------------------------------------------------------------------------------
# Knowledge base: pick or create, add sources, re-index
# ------------------------------------------------------------------------------------------------
def _kb_picker() -> kb.KbInfo | None:
    kbs = guard(kb.list_kbs) or []
    with st.expander("New knowledge base", expanded=not kbs):
        name = st.text_input("Name", key="support_new_name", placeholder="Help centre")
        desc = st.text_input("Description (optional)", key="support_new_desc")
        if st.button("Create", key="support_create", type="primary" if not kbs else "secondary"):
            made = guard(kb.create_kb, name, desc)
            if made is not None:
                st.session_state["support_kb"] = made.id
                st.rerun()
    if not kbs:
        empty_state("No knowledge base yet.", hint="Create one above, then upload an FAQ table or documents.")
        return None
    ids = [k.id for k in kbs]
    if st.session_state.get("support_kb") not in ids:
        st.session_state["support_kb"] = ids[0]
    labels = {k.id: f"{k.name} ({k.n_versions} version(s))" for k in kbs}
    chosen = st.selectbox("Knowledge base", ids, key="support_kb", format_func=labels.get)
    return next(k for k in kbs if k.id == chosen)


def _add_sources(info: kb.KbInfo) -> None:
    st.subheader("Sources")
    uploads = st.file_uploader(
        "FAQ or tickets tables (CSV, XLSX …) and documents (MD, TXT, HTML, PDF, DOCX)",
        accept_multiple_files=True,
        key="support_files",
    )
    c1, c2, c3, c4 = st.columns(4)
    kind = c1.selectbox("Read as", list(KIND_LABELS), format_func=KIND_LABELS.get, key="support_kind")
    qcol = c2.text_input("Question column (tables)", key="support_qcol", placeholder="question")
    acol = c3.text_input("Answer column (tables)", key="support_acol", placeholder="answer")
    where = c4.radio("Build the index", ["as a background job", "here, now (small files)"], key="support_where")
    dsv = guard(dataset_versions) or []
    ds_labels = {v.id: v.label for v in dsv}
    ds_pick = st.selectbox(
        "Or add a dataset version (an FAQ or tickets table from the Data page)", [None, *ds_labels], key="support_dsv",
        format_func=lambda i: "(none)" if i is None else ds_labels[i],
    )  # fmt: skip
    if st.button("Add and re-index", key="support_build", type="primary", disabled=not uploads and not ds_pick):
        files = [kb.SourceFile(f.name, f.getvalue(), kind, qcol or None, acol or None) for f in uploads or []]
        if ds_pick:
            table_kind = kind if kind in ("faq", "tickets") else "auto"
            made_src = guard(kb.source_from_dataset, ds_pick, kind=table_kind, question_column=qcol or None,
                             answer_column=acol or None)  # fmt: skip
            if made_src is None:
                return
            files.append(made_src)
        build = "job" if where.startswith("as a") else "inline"
        with st.spinner("Reading and indexing…" if build == "inline" else "Reading the files…"):
            made = guard(kb.add_version, info.id, files, build=build)
        if made is not None:
            st.session_state["support_version"] = made.id
            st.success(f"Version {made.version}: {made.n_chunks:,} passages ({made.status}).")


def _version_picker(info: kb.KbInfo) -> kb.KbVersionInfo | None:
    versions = guard(kb.list_versions, info.id) or []
    if not versions:
        empty_state("This knowledge base has no sources yet.", hint="Upload files above and press Add and re-index.")
        return None
    ids = [v.id for v in versions]
    if st.session_state.get("support_version") not in ids:
        ready = [v.id for v in versions if v.status == "ready"]
        st.session_state["support_version"] = (ready or ids)[0]
    by_id = {v.id: v for v in versions}
    chosen = st.selectbox("Version", ids, key="support_version", format_func=lambda i: by_id[i].label)
    v = by_id[chosen]
    note = kb.encoder_note(v)
    if note:
        st.caption(literal(note))
    rows = [
        {"file": s["name"], "kind": s["kind"], "title": s.get("title", ""), "passages": s["n_chunks"],
         "warnings": "; ".join(s.get("warnings") or [])}
        for s in v.sources
    ]  # fmt: skip
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="support_sources_table")
    if v.status == "indexing" and v.job_id:
        _watch_job(v.job_id)
    elif v.status == "failed":
        st.error(f"Indexing failed: {literal(v.error)}", icon=":material/error:")
    return v


def _watch_job(job_id: str) -> None:
    @st.fragment(run_every="3s")
    def _poll() -> None:
        job = guard(jobs.get, job_id)
        if job is None:
            return
        progress_bar(job.progress, literal(f"Index job {job.status}: {job.message}"))
        rerun_page_when_done(job, "support_seen_job")

    _poll()


# ------------------------------------------------------------------------------------------------
# Retrieval test
# ------------------------------------------------------------------------------------------------
def _passage_table(passages: list[Any]) -> pd.DataFrame:
    def f(x: float | None) -> str:
        return "" if x is None else f"{x:.3f}"

    df = pd.DataFrame(
        [
            {"#": p.rank, "fused": f"{p.fused:.4f}", "BM25": f(p.bm25), "BM25 rank": p.bm25_rank,
             "dense": f(p.dense), "dense rank": p.dense_rank, "source": p.chunk.source,
             "where": p.chunk.heading or p.chunk.title, "why": p.why}
            for p in passages
        ]
    )  # fmt: skip
    for col in ("BM25 rank", "dense rank"):
        df[col] = df[col].astype("Int64")
    return df


def _retrieval_test(v: kb.KbVersionInfo) -> None:
    q = st.text_input("Question", key="support_test_q", placeholder="How long do refunds take?")
    c1, c2 = st.columns(2)
    mode = c1.radio("Retriever", ["hybrid", "bm25", "dense"], horizontal=True, key="support_test_mode")
    k = c2.slider("Passages", 1, 20, 5, key="support_test_k")
    if st.button("Search", key="support_test_go") and q.strip():
        res = guard(kb.search, v.id, q, k, mode=mode)
        if res is None:
            return
        st.caption(f"{len(res.passages)} passage(s) in {res.seconds * 1000:.0f} ms · fused = weighted reciprocal rank")
        if not res.passages:
            empty_state("Nothing found.", hint="Try other words, or the dense retriever.")
            return
        st.dataframe(_passage_table(res.passages), hide_index=True, key="support_test_table")
        for p in res.passages:
            with st.expander(literal(f"[{p.rank}] {p.chunk.source} · {p.chunk.heading or p.chunk.title}")):
                st.markdown(literal(p.chunk.text, lines=True))


# ------------------------------------------------------------------------------------------------
# Draft a reply
# ------------------------------------------------------------------------------------------------
def _use_alert_ticket() -> None:
    picked = st.session_state.get("support_alert_pick")
    tickets = st.session_state.get(ALERT_TICKETS_KEY) or []
    if isinstance(picked, int) and 0 <= picked < len(tickets):
        t = tickets[picked]
        st.session_state["support_ticket"] = t.text
        st.session_state["support_channel"] = t.channel
        st.session_state["support_language"] = t.language


def _alert_tickets() -> None:
    """The tickets opened from a Sentiment alert: pick one to fill the ticket box."""
    tickets = st.session_state.get(ALERT_TICKETS_KEY) or []
    if not tickets:
        return
    with st.container(border=True):
        st.markdown(f"**{len(tickets)} ticket(s) from a sentiment alert**")
        st.selectbox(
            "Ticket from the alert", list(range(len(tickets))), key="support_alert_pick", index=None,
            format_func=lambda i: tickets[i].text[:120], on_change=_use_alert_ticket,
            placeholder="Pick one to draft a reply to it",
        )  # fmt: skip
        if st.button("Dismiss the alert's tickets", key="support_alert_clear"):
            st.session_state.pop(ALERT_TICKETS_KEY, None)
            st.rerun()


def _draft(v: kb.KbVersionInfo) -> None:
    _alert_tickets()
    text = st.text_area("Ticket", key="support_ticket", height=120, placeholder="Paste the customer's message")
    c1, c2, c3, c4 = st.columns(4)
    name = c1.text_input("Customer name (optional)", key="support_name")
    channel = c2.selectbox("Channel", list(rp.CHANNELS), key="support_channel")
    language = c3.selectbox("Language", list(rp.LANGUAGES), key="support_language")
    min_sim = c4.slider(
        "Relevance threshold", 0.0, 1.5, float(cfg.support_min_similarity), 0.05, key="support_min_sim",
        help="The best passage's cosine plus 0.75 × its margin over the second best must reach it, else the ticket "
        "goes to a person. Chinese tickets with an English embedding model use the word coverage "
        f"(≥ {cfg.support_min_coverage_zh:.2f}) instead.",
    )  # fmt: skip
    last = st.session_state.get("support_last")
    c5, c6 = st.columns([1, 3])
    kits = guard(kit_names) or []
    kit = c5.selectbox("Brand kit (voice)", [None, *kits], key="support_kit",
                       format_func=lambda n: "(none)" if n is None else n)  # fmt: skip
    seed = c5.number_input("Seed", 0, 2**31 - 1, 0, key="support_seed", help="Change it to regenerate.")
    options = [p.rank for p in last.passages] if last is not None and last.kb_version_id == v.id else []
    pick = c6.multiselect("Draft from these passages only (numbers, after a first draft)", options, key="support_pick")
    if st.button("Draft reply", key="support_draft", type="primary"):
        ticket = rp.Ticket(text, name, channel, language)
        with st.spinner("Retrieving passages and drafting…"):
            d = guard(
                rp.draft_reply,
                v.id,
                ticket,
                min_similarity=min_sim,
                seed=int(seed),
                passage_numbers=[int(n) for n in pick] or None,
                brand_kit=kit,
            )
        if d is not None:
            st.session_state["support_last"] = d
            st.session_state["support_edit"] = d.reply
    d = st.session_state.get("support_last")
    if d is None or d.kb_version_id != v.id:
        return
    left, right = st.columns([3, 2])
    with left:
        badge = {"drafted": ":green-badge[ready to send]", "review": ":orange-badge[check before sending]",
                 "handoff": ":red-badge[needs a person]"}[d.status]  # fmt: skip
        sent = d.sentiment.get("label") or "not scored"
        rel = d.relevance
        source = ""
        if d.draft_source == "passage" and d.cited:
            source = f" · answer taken from [{d.cited[0]}]"
        elif d.draft_source == "model":
            source = " · rephrased by the model, each sentence cited by its passage"
        st.markdown(f"{badge} · sentiment: {literal(sent)} · relevance: score {rel.get('score', rel['dense']):.2f} "
                    f"(cosine {rel['dense']:.2f}), words {rel['coverage']:.2f}{source}")  # fmt: skip
        st.text_area("Reply (edit before sending)", key="support_edit", height=220)
        for f in d.flags:
            (st.warning if f.severity == "review" else st.info)(literal(f.message), icon=":material/flag:")
        st.caption(literal(f"model {d.model or '(none: handed off)'} · reply id {d.id}"))
        if st.button("Save edited reply", key="support_save", disabled=not d.id):
            row = guard(rp.save_edit, d.id, st.session_state.get("support_edit", ""))
            if row is not None:
                st.success(f"Saved ({row['status']}).")
                for fl in row["flags"]:
                    st.warning(literal(fl["message"]), icon=":material/flag:")
    with right:
        st.markdown("**Passages**")
        for p in d.passages:
            mark = "cited" if p.rank in d.cited else "not cited"
            with st.container(border=True):
                st.markdown(f"**[{p.rank}]** {literal(p.chunk.source)} · {literal(p.chunk.heading or p.chunk.title)}")
                st.caption(literal(f"{mark} · {p.why}"))
                st.markdown(literal(p.chunk.body or p.chunk.text, lines=True))


def _batch(v: kb.KbVersionInfo) -> None:
    st.caption("A CSV of tickets → a CSV of drafted replies with their citations, flags and status, as a job.")
    up = st.file_uploader("Tickets (CSV)", type=["csv"], key="support_batch_file")
    c1, c2, c3 = st.columns(3)
    text_col = c1.text_input("Ticket column", "text", key="support_batch_text")
    name_col = c2.text_input("Customer name column (optional)", key="support_batch_name")
    channel = c3.selectbox("Channel", list(rp.CHANNELS), key="support_batch_channel")
    if st.button("Draft all replies", key="support_batch_go", disabled=up is None) and up is not None:
        job_id = guard(sj.submit_batch, v.id, up.getvalue(), text_column=text_col, name_column=name_col or None,
                       channel=channel)  # fmt: skip
        if job_id:
            st.session_state["support_batch_job"] = job_id
    job_id = st.session_state.get("support_batch_job")
    if not job_id:
        return

    @st.fragment(run_every="3s")
    def _poll() -> None:
        job = guard(jobs.get, job_id)
        if job is None:
            return
        progress_bar(job.progress, literal(f"Batch {job.status}: {job.message}"))
        if job.status == "running" and st.button("Cancel", key="support_batch_cancel"):
            guard(jobs.cancel, job_id)
        if job.finished:
            data = guard(sj.batch_result, job_id) if job.status == "succeeded" else None
            if data:
                st.download_button("Download replies CSV", data, "replies.csv", "text/csv", key="support_batch_dl")
            elif job.error:
                st.error(literal(job.error), icon=":material/error:")

    _poll()


info = _kb_picker()
if info is not None:
    _add_sources(info)
    version = _version_picker(info)
    if version is not None and version.status == "ready":
        test_tab, reply_tab, batch_tab = st.tabs(["Retrieval test", "Draft a reply", "Batch"])
        with test_tab:
            _retrieval_test(version)
        with reply_tab:
            _draft(version)
        with batch_tab:
            _batch(version)
