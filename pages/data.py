"""Data: upload, profile, clean and split datasets into immutable versions the other pages use."""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from aigc_core import data as D
from aigc_core.data.readers import DELIMITERS, ENCODINGS
from aigc_core.settings import get_settings
from aigc_core.storage import safe_name
from pages._ui import empty_state, guard, literal, page_header

NONE = "(none)"
DELIM_NAMES = {",": "comma ,", "\t": "tab", ";": "semicolon ;", "|": "pipe |"}
STATE_CACHE = "data_upload_cache"  # {cache key: ReadResult}
STATE_WORK = "data_work_version"  # the version the Profile/Clean/Split steps work on
STATE_CLEAN = "data_clean_result"  # (version id, CleanResult)

page_header(
    "Data",
    "Upload a file (or load a sample), check it, clean it and split it. Every step saves an immutable version "
    "that Fine-tune, Sentiment monitor and Ad copy can use.",
)


# ------------------------------------------------------------------------------------------------
# Helpers (page-side caching only; all work is in aigc_core.data)
# ------------------------------------------------------------------------------------------------
def _versions() -> list[D.VersionInfo]:
    return guard(D.list_versions) or []


TABS = ["1 · Upload", "2 · Profile", "3 · Clean", "4 · Split & save", "Datasets"]
TAB_KEY = "data_tab"


def _set_work(version_id: str, message: str = "", *, next_tab: str | None = None) -> None:
    """Make ``version_id`` the working version on the next run (and show ``message`` there); ``next_tab``: the
    tab of the next step, opened on that run (else the page stays on the current tab)."""
    st.session_state["data_pending_work"] = version_id
    if next_tab:
        st.session_state["data_pending_tab"] = next_tab
    st.session_state.pop(STATE_CLEAN, None)
    if message:
        st.session_state["data_flash"] = message
    st.rerun()


@st.cache_resource(show_spinner=False, max_entries=4)
def _load(version_id: str) -> pd.DataFrame:
    """A version's rows, shared (not copied) between reruns; versions are immutable and nothing mutates them."""
    return D.load_version(version_id)


@st.cache_data(show_spinner=False, max_entries=16)
def _profile(version_id: str, roles: tuple[tuple[str, str], ...]) -> D.Profile:
    """The profile of a version under given roles, computed once."""
    return D.profile(_load(version_id), D.Roles(**dict(roles)))


def _parse(raw: bytes, name: str, options: dict[str, Any], file_id: str = "") -> D.ReadResult | None:
    """Parse an upload once per (file, options); reruns reuse the cached result."""
    ident = f"{file_id}:{len(raw)}" if file_id else hashlib.sha256(raw).hexdigest()
    key = ident + repr(sorted(options.items()))
    cache: dict[str, D.ReadResult] = st.session_state.setdefault(STATE_CACHE, {})
    if key not in cache:
        with st.spinner("Reading the file…"):
            res = guard(D.read_file, raw, name, **options)
        if res is None:
            return None
        cache.clear()  # keep only the current upload in memory
        cache[key] = res
    return cache[key]


def _load_sample(key: str) -> None:
    with st.spinner("Importing the sample…"):
        v = guard(D.load_sample, key)
    if v is not None:
        _set_work(v.id, f"Created {v.label}. Check it in Profile, then Clean and Split & save.", next_tab=TABS[1])


def _work_version(versions: list[D.VersionInfo]) -> D.VersionInfo | None:
    """The working version picker shared by Profile, Clean and Split & save."""
    if not versions:
        return None
    ids = [v.id for v in versions]
    if st.session_state.get(STATE_WORK) not in ids:
        st.session_state[STATE_WORK] = ids[0]
    chosen = st.selectbox(
        "Working version (Profile, Clean and Split & save use it)",
        ids,
        format_func=lambda i: versions[ids.index(i)].label,
        key=STATE_WORK,
    )
    return versions[ids.index(chosen)]


def _roles_editor(v: D.VersionInfo, columns: list[str]) -> D.Roles:
    """One selectbox per role, defaulting to the roles stored on the version."""
    stored = D.Roles.from_dict(v.roles)
    cols = st.columns(len(D.ROLE_NAMES))
    chosen: dict[str, str | None] = {}
    for c, role in zip(cols, D.ROLE_NAMES, strict=True):
        options = [NONE, *columns]
        current = getattr(stored, role)
        value = c.selectbox(
            role.capitalize(),
            options,
            index=options.index(current) if current in options else 0,
            key=f"data_role_{v.id}_{role}",
        )
        chosen[role] = None if value == NONE else value
    return D.Roles(**chosen)


# ------------------------------------------------------------------------------------------------
# Working version, samples and upload
# ------------------------------------------------------------------------------------------------
if "data_pending_work" in st.session_state:
    st.session_state[STATE_WORK] = st.session_state.pop("data_pending_work")
if flash := st.session_state.pop("data_flash", None):
    st.success(literal(flash), icon=":material/check:")  # flashes name datasets
versions = _versions()
work = _work_version(versions)

if pending_tab := st.session_state.pop("data_pending_tab", None):
    st.session_state[TAB_KEY] = pending_tab  # the next step's tab, before the tabs are drawn
# a key keeps the open tab across reruns (a button's result stays on screen); "rerun" makes the choice readable
tab_upload, tab_profile, tab_clean, tab_split, tab_list = st.tabs(TABS, key=TAB_KEY, on_change="rerun")

with tab_upload:
    st.subheader("Start from a sample")
    s_cols = st.columns(len(D.SAMPLES))
    for col, (skey, sample) in zip(s_cols, D.SAMPLES.items(), strict=True):
        with col:
            st.markdown(f"**{sample.name}**")
            st.caption(sample.description)
            if st.button("Load sample", key=f"data_load_sample_{skey}", icon=":material/download:"):
                _load_sample(skey)
    st.caption(
        "The tweet sample's `replay_time` values are assigned for the monitor demo — the tweets carry no real dates. "
        "Credits: assets/samples/tweets_sample.LICENSE.md."
    )

    st.subheader("Upload a file")
    max_mb = get_settings().max_upload_mb
    up = st.file_uploader(
        f"CSV, TSV, XLSX, JSON, JSONL, Parquet or TXT (one text per line), up to {max_mb} MB",
        type=["csv", "tsv", "tab", "xlsx", "json", "jsonl", "ndjson", "parquet", "pq", "txt"],
        key="data_upload_file",
        max_upload_size=max_mb,
    )
    if up is not None:
        raw = up.getvalue()
        o1, o2, o3, o4 = st.columns(4)
        enc = o1.selectbox("Encoding", ["auto", *ENCODINGS], key="data_upload_encoding")
        delim = o2.selectbox(
            "Delimiter", ["auto", *DELIMITERS], format_func=lambda d: DELIM_NAMES.get(d, d), key="data_upload_delim"
        )
        sheet_options = ["first"]
        if up.name.lower().endswith(".xlsx"):
            sheet_options += guard(D.list_sheets, raw) or []
        sheet = o3.selectbox("Sheet (XLSX)", sheet_options, key="data_upload_sheet")
        skip = o4.checkbox("Skip bad lines", key="data_upload_skip", help="Leave out lines that do not parse.")
        options: dict[str, Any] = {
            "encoding": None if enc == "auto" else enc,
            "delimiter": None if delim == "auto" else delim,
            "sheet": None if sheet == "first" else sheet,
            "skip_bad_lines": skip,
        }
        res = _parse(raw, up.name, options, getattr(up, "file_id", ""))
        if res is not None:
            how = [f"format **{literal(res.format)}**"]
            if res.encoding:
                how.append(f"encoding **{literal(res.encoding)}**")
            if res.delimiter:
                how.append(f"delimiter **{literal(DELIM_NAMES.get(res.delimiter, res.delimiter))}**")
            if res.sheet:
                how.append(f"sheet **{literal(res.sheet)}**")
            st.markdown(f"Read {len(res.df):,} rows × {res.df.shape[1]} columns — " + ", ".join(how) + ".")
            for w in res.warnings:
                st.warning(literal(w), icon=":material/warning:")
            st.dataframe(res.df.head(20), key="data_upload_preview", hide_index=True)
            default_name = up.name.rsplit(".", 1)[0]
            name = st.text_input("Dataset name", value=default_name, key="data_upload_name", max_chars=200)
            desc = st.text_input("Description (optional)", key="data_upload_desc", max_chars=500)
            if st.button("Save as a new dataset", key="data_upload_save", type="primary", icon=":material/save:"):
                roles = guard(D.infer_roles, res.df)
                src = {"format": res.format, "encoding": res.encoding, "delimiter": res.delimiter, "sheet": res.sheet}
                v = guard(
                    D.import_dataframe,
                    name,
                    res.df,
                    raw=raw,
                    filename=up.name,
                    roles=roles,
                    description=desc,
                    source=src,
                )
                if v is not None:
                    _set_work(v.id, f"Saved {v.label}. Continue with Profile.", next_tab=TABS[1])

# ------------------------------------------------------------------------------------------------
# Profile
# ------------------------------------------------------------------------------------------------
with tab_profile:
    if work is None:
        empty_state("No datasets yet.", hint="Upload a file or load a sample in step 1.")
    else:
        v = work
        df = guard(_load, v.id) if v else None
        if v is not None and df is not None:
            st.markdown("**Column roles** (inferred; change them if they are wrong)")
            roles = _roles_editor(v, [str(c) for c in df.columns])
            prof = guard(_profile, v.id, tuple(sorted(roles.to_dict().items())))
            if prof is not None:
                m = st.columns(5)
                m[0].metric("Rows", f"{prof.rows:,}")
                m[1].metric("Columns", prof.columns)
                m[2].metric("Exact duplicates", f"{prof.exact_duplicates:,}")
                m[3].metric(
                    "Near duplicates",
                    f"{prof.near_duplicates:,}",
                    help="After casefolding and removing URLs, mentions, punctuation and extra spaces.",
                )
                m[4].metric("Memory", f"{prof.memory_mb:,.1f} MB")
                info = pd.DataFrame({"type": prof.dtypes, "missing": prof.missing}).rename_axis("column").reset_index()
                st.dataframe(info, key="data_profile_columns", hide_index=True)
                c1, c2 = st.columns(2)
                if prof.length_hist:
                    edges, counts = prof.length_hist["edges"], prof.length_hist["counts"]
                    fig = go.Figure(go.Bar(x=[(a + b) / 2 for a, b in itertools.pairwise(edges)], y=counts))
                    fig.update_layout(title="Text length (characters)", height=300, margin={"t": 40, "b": 20})
                    c1.plotly_chart(fig, key="data_profile_hist")
                    c1.caption(", ".join(f"{k} {v_:,.0f}" for k, v_ in prof.text_length.items()))
                if prof.labels:
                    fig = go.Figure(go.Bar(x=list(prof.labels), y=list(prof.labels.values())))
                    fig.update_layout(title="Labels", height=300, margin={"t": 40, "b": 20})
                    c2.plotly_chart(fig, key="data_profile_labels")
                if prof.timestamps:
                    t = prof.timestamps
                    gaps = ", ".join(f"{g['gap']} after {g['after']}" for g in t.get("largest_gaps", []))
                    st.markdown(
                        f"**Timestamps:** {literal(t.get('min'))} → {literal(t.get('max'))}; unparseable: "
                        f"{t.get('unparseable', 0):,}; median gap {literal(t.get('median_gap'))}; largest gaps: "
                        + literal(gaps)
                    )
                    if v.source.get("sample") == "tweets":
                        st.caption("These timestamps were assigned for the demo; the tweets have no real dates.")
                st.markdown("**Sample rows**")
                st.dataframe(prof.sample, key="data_profile_sample", hide_index=True)
                if roles.to_dict() != D.Roles.from_dict(v.roles).to_dict():
                    st.info("Roles changed: they are saved with the next version (Clean or Split & save).")
                st.session_state["data_roles"] = (v.id, roles)


# ------------------------------------------------------------------------------------------------
# Clean
# ------------------------------------------------------------------------------------------------
def _current_roles(v: D.VersionInfo) -> D.Roles:
    vid, roles = st.session_state.get("data_roles", (None, None))
    return roles if vid == v.id and roles is not None else D.Roles.from_dict(v.roles)


with tab_clean:
    if work is None:
        empty_state("No datasets yet.", hint="Upload a file or load a sample in step 1.")
    else:
        v = work
        roles = _current_roles(v)
        st.caption(
            f"Text column: **{literal(roles.text or '—')}** · label: **{literal(roles.label or '—')}** · "
            f"timestamp: **{literal(roles.timestamp or '—')}** (change the roles in Profile)"
        )
        c1, c2, c3 = st.columns(3)
        unicode = c1.checkbox("Unicode NFKC + fix mojibake", value=True, key="data_clean_unicode")
        trim = c1.checkbox("Trim whitespace", value=True, key="data_clean_trim")
        drop_empty = c1.checkbox("Drop empty texts", value=True, key="data_clean_empty")
        rm_urls = c2.checkbox("Remove URLs", key="data_clean_urls")
        rm_mentions = c2.checkbox("Remove @mentions", key="data_clean_mentions")
        rm_html = c2.checkbox("Remove HTML tags/entities", key="data_clean_html")
        rm_rt = c2.checkbox("Remove 'RT @user:' prefixes", key="data_clean_rt")
        pii = c3.checkbox("Mask PII (e-mail, phone, card)", key="data_clean_pii")
        dedup = c3.radio("Duplicates", ["exact", "normalised", "none"], key="data_clean_dedup", horizontal=True)
        l1, l2 = c3.columns(2)
        min_len = l1.number_input("Min length", min_value=0, value=0, step=1, key="data_clean_min_len")
        max_len = l2.number_input("Max length (0 = none)", min_value=0, value=0, step=10, key="data_clean_max_len")
        norm_labels = st.checkbox(
            "Normalise labels", value=bool(roles.label), key="data_clean_labels", disabled=not roles.label
        )
        mapping = dict(D.DEFAULT_LABEL_MAPPING)
        drop_unmapped = False
        if norm_labels and roles.label:
            edited = st.data_editor(
                pd.DataFrame({"value": list(mapping), "canonical": list(mapping.values())}),
                num_rows="dynamic",
                key="data_clean_mapping",
                hide_index=True,
            )
            mapping = {
                str(a).strip(): str(b).strip()
                for a, b in zip(edited["value"], edited["canonical"], strict=True)
                if pd.notna(a) and pd.notna(b) and str(a).strip() and str(b).strip()
            }
            drop_unmapped = st.checkbox("Drop rows whose label has no mapping", key="data_clean_drop_unmapped")
        parse_ts = st.checkbox(
            "Parse timestamps", value=bool(roles.timestamp), key="data_clean_ts", disabled=not roles.timestamp
        )
        tz, drop_bad_ts = "UTC", False
        if parse_ts and roles.timestamp:
            t1, t2 = st.columns(2)
            tz = t1.text_input("Time zone of timestamps without an offset", value="UTC", key="data_clean_tz")
            drop_bad_ts = t2.checkbox("Drop rows whose timestamp does not parse", key="data_clean_drop_ts")
        if st.button("Run cleaning", key="data_clean_run", type="primary", icon=":material/cleaning_services:"):
            try:
                recipe = D.Recipe(
                    unicode=unicode,
                    trim=trim,
                    drop_empty=drop_empty,
                    remove_urls=rm_urls,
                    remove_mentions=rm_mentions,
                    remove_html=rm_html,
                    remove_rt=rm_rt,
                    mask_pii=pii,
                    dedup=dedup,
                    min_length=int(min_len) or None,
                    max_length=int(max_len) or None,
                    normalise_labels=norm_labels and bool(roles.label),
                    label_mapping=mapping,
                    drop_unmapped_labels=drop_unmapped,
                    parse_timestamps=parse_ts and bool(roles.timestamp),
                    timezone=tz.strip() or "UTC",
                    drop_unparseable_timestamps=drop_bad_ts,
                )
            except ValueError as exc:
                st.error(f"Invalid cleaning options: {literal(exc)}", icon=":material/error:")
                recipe = None
            df = guard(_load, v.id) if recipe is not None else None
            if df is not None and recipe is not None:
                with st.spinner(f"Cleaning {len(df):,} rows…"):
                    result = guard(D.clean, df, recipe, roles)
                if result is not None:
                    st.session_state[STATE_CLEAN] = (v.id, result)
        vid, result = st.session_state.get(STATE_CLEAN, (None, None))
        if result is not None and vid == v.id:
            st.markdown(f"**{result.rows_in:,} → {len(result.df):,} rows**")
            for rep in result.reports:
                title = f"{rep.step}: {rep.changed:,} changed, {rep.dropped:,} dropped"
                with st.expander(title, expanded=False):
                    for note in rep.notes:
                        st.markdown(literal(note))
                    if rep.examples:  # the data's own texts: a dataframe shows them as plain text
                        st.dataframe(
                            pd.DataFrame(rep.examples, columns=["before", "after"]),
                            hide_index=True,
                            key=f"data_clean_examples_{rep.step}",
                        )
            st.dataframe(result.df.head(20), key="data_clean_preview", hide_index=True)
            if st.button("Save cleaned version", key="data_clean_save", icon=":material/save:"):
                saved = guard(
                    D.save_version,
                    v.dataset_id,
                    result.df,
                    kind="clean",
                    parent_id=v.id,
                    roles=roles,
                    recipe=result.recipe,
                    source={"from_version": v.id},
                )
                if saved is not None:
                    _set_work(saved.id, f"Saved {saved.label}. Continue with Split & save.", next_tab=TABS[3])

# ------------------------------------------------------------------------------------------------
# Split & save
# ------------------------------------------------------------------------------------------------
with tab_split:
    if work is None:
        empty_state("No datasets yet.", hint="Upload a file or load a sample in step 1.")
    else:
        v = work
        roles = _current_roles(v)
        s1, s2, s3 = st.columns(3)
        val = s1.number_input("Validation share", 0.0, 0.5, 0.1, 0.05, key="data_split_val")
        test = s2.number_input("Test share", 0.0, 0.5, 0.1, 0.05, key="data_split_test")
        seed = s3.number_input("Seed", 0, 2**31 - 1, 42, 1, key="data_split_seed")
        strat = st.checkbox(
            f"Stratify by label ({literal(roles.label)})" if roles.label else "Stratify by label (no label column)",
            value=bool(roles.label),
            disabled=not roles.label,
            key="data_split_stratify",
        )
        if st.button("Split and save", key="data_split_run", type="primary", icon=":material/call_split:"):
            df = guard(_load, v.id)
            if df is not None:
                sp = guard(
                    D.split,
                    df,
                    label=roles.label if strat else None,
                    validation=float(val),
                    test=float(test),
                    seed=int(seed),
                )
                if sp is not None:
                    for w in sp.warnings:
                        st.warning(literal(w), icon=":material/warning:")
                    saved = guard(
                        D.save_version,
                        v.dataset_id,
                        kind="split",
                        parent_id=v.id,
                        roles=roles,
                        recipe={
                            **v.recipe,
                            "split": {"validation": val, "test": test, "seed": int(seed), "stratified": sp.stratified},
                        },
                        source={"from_version": v.id},
                        splits=sp,
                    )
                    if saved is not None:
                        counts = ", ".join(f"{k} {saved.row_counts.get(k, 0):,}" for k in saved.splits)
                        _set_work(saved.id, f"Saved {saved.label}: {counts}. It is ready for Fine-tune.")

# ------------------------------------------------------------------------------------------------
# Dataset list
# ------------------------------------------------------------------------------------------------
with tab_list:
    datasets = guard(D.list_datasets) or []
    if not datasets:
        empty_state("No datasets yet.", hint="Upload a file or load a sample in step 1.")
    for ds in datasets:
        with st.expander(f"{literal(ds.name)} — {ds.n_versions} version(s)", expanded=False):
            if ds.description:
                st.caption(literal(ds.description))
            ds_versions = [x for x in versions if x.dataset_id == ds.id]
            table = pd.DataFrame(
                [
                    {
                        "version": x.version,
                        "kind": x.kind,
                        "rows": x.row_counts.get("total", 0),
                        "splits": ", ".join(f"{k} {x.row_counts[k]:,}" for k in x.splits),
                        "roles": str(x.roles),
                        "created": x.created_at.strftime("%Y-%m-%d %H:%M"),
                        "id": x.id,
                    }
                    for x in ds_versions
                ]
            )
            st.dataframe(table, key=f"data_list_table_{ds.id}", hide_index=True)
            if not ds_versions:
                continue
            ids = [x.id for x in ds_versions]
            vid = st.selectbox(
                "Version",
                ids,
                format_func=lambda i, vs=ds_versions: vs[[x.id for x in vs].index(i)].label,
                key=f"data_list_version_{ds.id}",
            )
            a, b, c, d = st.columns(4)
            if a.button("Preview", key=f"data_list_preview_{ds.id}"):
                prev = guard(_load, vid)
                if prev is not None:
                    st.dataframe(prev.head(50), key=f"data_list_preview_df_{ds.id}", hide_index=True)
            b.download_button(
                "CSV",
                data=lambda i=vid: D.export_version(i, "csv"),
                file_name=f"{safe_name(ds.name, default='dataset')}_{vid}.csv",
                mime="text/csv",
                key=f"data_list_csv_{ds.id}",
                icon=":material/download:",
            )
            c.download_button(
                "Parquet",
                data=lambda i=vid: D.export_version(i, "parquet"),
                file_name=f"{safe_name(ds.name, default='dataset')}_{vid}.parquet",
                mime="application/octet-stream",
                key=f"data_list_parquet_{ds.id}",
                icon=":material/download:",
            )
            if d.button("Work on this version", key=f"data_list_work_{ds.id}"):
                _set_work(vid, "Selected as the working version.")
            used = {i: guard(D.usages, i) or [] for i in ids}
            for i, u in used.items():
                if u:
                    st.warning(
                        f"v{ds_versions[ids.index(i)].version} is in use by: " + literal("; ".join(u)),
                        icon=":material/link:",
                    )
            confirm = st.checkbox(
                "Yes, delete (even what is in use, listed above)" if any(used.values()) else "Yes, I want to delete",
                key=f"data_list_confirm_{ds.id}",
            )
            x1, x2 = st.columns(2)
            deleted = False
            if x1.button("Delete this version", key=f"data_list_delete_v_{ds.id}", disabled=not confirm):
                deleted = guard(D.delete_version, vid, force=True) is None and vid not in [
                    x.id for x in (guard(D.list_versions) or [])
                ]
            if x2.button("Delete the whole dataset", key=f"data_list_delete_ds_{ds.id}", disabled=not confirm):
                guard(D.delete_dataset, ds.id, force=True)
                deleted = ds.id not in [x.id for x in (guard(D.list_datasets) or [])]
            if deleted:
                _load.clear()
                st.session_state.pop(STATE_WORK, None)
                st.session_state["data_flash"] = "Deleted."
                st.rerun()
