"""Fine-tune: train sentiment/topic classifiers and a brand-voice language model without code."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from aigc_core.finetune import dpo, gguf_export, registry, runs
from aigc_core.finetune import jobs as ft_jobs
from aigc_core.finetune.dpo import PreferenceJobParams
from aigc_core.finetune.params import (
    CAUSAL_LM_TASK,
    CLASSIFIER_TASK,
    SMALL_DATA_ROWS,
    CausalLMJobParams,
    ClassifierJobParams,
    LoraParams,
    TrainParams,
    classifier_train_defaults,
    field_help,
)
from aigc_core.users.roles import allowed, current
from pages._jobs_widgets import progress_bar, rerun_page_when_done
from pages._ui import code_span, empty_state, guard, literal, page_header, show_error

TASK_LABELS = {
    CLASSIFIER_TASK: "Text classifier (sentiment, topic, intent)",
    CAUSAL_LM_TASK: "Brand-voice language model",
}
TH = field_help(TrainParams)
LH = field_help(LoraParams)

page_header(
    "Fine-tune",
    "Pick a dataset version, a task and a base model, press Train, watch it learn, and promote the result.",
)
tab_train, tab_runs, tab_eval, tab_registry = st.tabs(["Train", "Runs", "Evaluation", "Model registry"])


# ------------------------------------------------------------------------------------------------
# Train form
# ------------------------------------------------------------------------------------------------
def _base_choices(task: str) -> list[str]:
    """auto, the registry versions the user may see and, for admins only, a folder or hub id of their own."""
    versions = guard(registry.list_versions, task) or []
    custom = ["custom…"] if current().is_admin else []
    return ["auto", *[v.ref for v in versions], *custom]


def _label_base(value: str, task: str) -> str:
    if value == "auto":
        offline = "all-MiniLM-L6-v2" if task == CLASSIFIER_TASK else "SmolLM2-135M-Instruct"
        return f"auto (offline {offline})"
    return value


def _train_params(task: str, n_train: int = 0, data_key: str = "") -> tuple[TrainParams, LoraParams]:
    lm = task == CAUSAL_LM_TASK
    sfx = "lm" if lm else "clf"  # separate widget state per task, so each task keeps its own defaults
    defaults = CausalLMJobParams().train if lm else classifier_train_defaults(n_train)
    if not lm and st.session_state.get("ft_defaults_for") != data_key:  # another dataset: its own defaults
        st.session_state["ft_defaults_for"] = data_key
        for k in ("ft_epochs_clf", "ft_lr_clf", "ft_batch_clf", "ft_maxlen_clf"):
            st.session_state.pop(k, None)
    if not lm and 0 < n_train < SMALL_DATA_ROWS:
        st.caption(
            f"Defaults for {n_train:,} training rows: {defaults.epochs:g} epochs at learning rate "
            f"{defaults.learning_rate:g}, batches of {defaults.batch_size}, early stopping on validation "
            "(on small data the plain defaults train far worse than the frozen-encoder baseline)."
        )
    with st.expander("Advanced", expanded=False):
        c1, c2, c3 = st.columns(3)
        epochs = c1.number_input(
            "Epochs", 0.1, 100.0, float(defaults.epochs), 0.5, key=f"ft_epochs_{sfx}", help=TH["epochs"]
        )
        lr = c2.number_input(
            "Learning rate", 1e-6, 1.0, float(defaults.learning_rate), format="%.6f", key=f"ft_lr_{sfx}",
            help=TH["learning_rate"],
        )  # fmt: skip
        batch = c3.number_input(
            "Batch size", 1, 1024, defaults.batch_size, key=f"ft_batch_{sfx}", help=TH["batch_size"]
        )
        accum = c1.number_input("Gradient accumulation", 1, 256, 1, key=f"ft_accum_{sfx}", help=TH["grad_accum"])
        max_len = c2.number_input("Max length (tokens)", 8, 8192, defaults.max_length, key=f"ft_maxlen_{sfx}",
                                  help=TH["max_length"])  # fmt: skip
        warmup = c3.number_input("Warm-up ratio", 0.0, 0.9, defaults.warmup_ratio, 0.01, key=f"ft_warmup_{sfx}",
                                 help=TH["warmup_ratio"])  # fmt: skip
        wd = c1.number_input("Weight decay", 0.0, 1.0, defaults.weight_decay, 0.01, key=f"ft_wd_{sfx}",
                             help=TH["weight_decay"])  # fmt: skip
        seed = c2.number_input("Seed", 0, 2**31 - 1, defaults.seed, key=f"ft_seed_{sfx}", help=TH["seed"])
        eval_steps = c3.number_input("Evaluate every N steps (0 = auto)", 0, 100000, 0, key=f"ft_eval_steps_{sfx}",
                                     help=TH["eval_steps"])  # fmt: skip
        patience = c1.number_input("Early-stopping patience", 0, 100, defaults.early_stopping_patience,
                                   key=f"ft_patience_{sfx}", help=TH["early_stopping_patience"])  # fmt: skip
        precision = c2.selectbox("Precision", ["auto", "fp32", "bf16", "fp16"], key=f"ft_precision_{sfx}",
                                 help=TH["precision"])  # fmt: skip
        compile_ = c3.checkbox("torch.compile", value=False, key=f"ft_compile_{sfx}", help=TH["torch_compile"])
    with st.expander("LoRA adapters", expanded=lm):
        enabled = st.toggle("Train LoRA adapters instead of all weights", value=lm, key=f"ft_lora_on_{sfx}",
                            help=LH["enabled"])  # fmt: skip
        c1, c2, c3 = st.columns(3)
        r = c1.number_input("Rank", 1, 512, 8, key=f"ft_lora_r_{sfx}", help=LH["r"], disabled=not enabled)
        alpha = c2.number_input(
            "Alpha", 1, 1024, 16, key=f"ft_lora_alpha_{sfx}", help=LH["alpha"], disabled=not enabled
        )
        dropout = c3.number_input("Dropout", 0.0, 0.9, 0.05, 0.01, key=f"ft_lora_dropout_{sfx}", help=LH["dropout"],
                                  disabled=not enabled)  # fmt: skip
        targets = st.text_input(
            "Target modules (comma-separated; empty = the architecture's attention projections)",
            key=f"ft_lora_targets_{sfx}", help=LH["target_modules"], disabled=not enabled,
        )  # fmt: skip
    train = TrainParams(
        epochs=epochs, learning_rate=lr, batch_size=int(batch), grad_accum=int(accum), max_length=int(max_len),
        warmup_ratio=warmup, weight_decay=wd, seed=int(seed), eval_steps=int(eval_steps),
        early_stopping_patience=int(patience), precision=precision, torch_compile=compile_,
    )  # fmt: skip
    lora = LoraParams(
        enabled=enabled, r=int(r), alpha=int(alpha), dropout=float(dropout),
        target_modules=[t.strip() for t in targets.split(",") if t.strip()] or None,
    )  # fmt: skip
    return train, lora


def _column_select(label: str, columns: list[str], default: str, key: str, *, optional: bool = False) -> str:
    options = ([""] if optional else []) + columns
    index = options.index(default) if default in options else 0
    return st.selectbox(label, options, index=index, key=key, format_func=lambda c: c or "(none)")


def _role(roles: dict, name: str) -> str:
    v = roles.get(name)
    return (v[0] if v else "") if isinstance(v, list) else str(v or "")


def _synthetic_section(version_id: str, text_col: str, label_col: str) -> list[dict]:
    from aigc_core.finetune import synthetic

    with st.expander("Synthetic examples for under-represented classes", expanded=False):
        st.caption(
            "The language model writes extra examples for classes with few rows, from real examples of the class. "
            "Review them below: only ticked rows are added to the training split, marked as synthetic."
        )
        target = st.number_input("Examples per class to reach (0 = the median class size)", 0, 100000, 0,
                                 key="ft_syn_target")  # fmt: skip
        if st.button("Propose examples", key="ft_syn_propose"):
            splits = guard(ft_jobs.load_dataset_splits, version_id)
            if splits is not None:
                with st.spinner("Writing examples…"):
                    proposed = guard(
                        synthetic.propose_synthetic, splits.train, text_col, label_col,
                        target_per_class=int(target) or None,
                    )  # fmt: skip
                if proposed is not None:
                    proposed.insert(0, "keep", True)
                    st.session_state["ft_syn_rows"] = proposed
        rows = st.session_state.get("ft_syn_rows")
        if rows is None or len(rows) == 0:
            if rows is not None:
                st.info("Every class already has enough examples; nothing was proposed.")
            return []
        edited = st.data_editor(rows, key="ft_syn_editor", hide_index=True, width="stretch")
        kept = edited[edited["keep"]].drop(columns=["keep"])
        st.caption(f"{len(kept)} of {len(edited)} proposed rows will be added, marked synthetic.")
        if st.button("Save as a new dataset version (kind: synthetic)", key="ft_syn_save"):
            new_id = guard(synthetic.save_synthetic_version, version_id, kept.to_dict("records"))
            if new_id:
                st.success(f"Saved dataset version {new_id}; pick it above to train on it.")
        return kept.to_dict("records")


def render_train() -> None:
    options = guard(runs.dataset_version_options) or []
    if not options:
        empty_state(
            "No dataset versions yet. A classifier needs a text and a label column; a brand-voice model needs copy "
            "(and optionally the brief it answers).",
            hint="Upload and split a dataset on the **Data** page; its versions appear here.",
        )
        return
    by_id = {o.id: o for o in options}
    c1, c2 = st.columns(2)
    version_id = c1.selectbox("Dataset version", list(by_id), format_func=lambda i: by_id[i].label, key="ft_dataset")
    task = c2.radio("Task", list(TASK_LABELS), format_func=TASK_LABELS.get, key="ft_task", horizontal=False)
    opt = by_id[version_id]
    if not opt.row_counts.get("train"):
        st.caption("This version has no train/validation/test split: all rows train, no validation or test scores.")
    choices = _base_choices(task)
    if st.session_state.get(f"ft_base_{task}") not in choices:
        st.session_state.pop(f"ft_base_{task}", None)
    base_choice = st.selectbox(
        "Base model", choices, format_func=lambda v: _label_base(v, task), key=f"ft_base_{task}",
        help=None if "custom…" in choices else "Folders and hub ids are picked by an admin.",
    )  # fmt: skip
    base = base_choice
    if base_choice == "custom…":
        base = st.text_input("Hub id (org/name[@revision]) or local folder", key="ft_base_custom").strip() or "auto"
    cols = opt.columns
    name = st.text_input("Name of the model version", key="ft_name", placeholder="e.g. tweets sentiment v2")
    synthetic_rows: list[dict] = []
    if task == CLASSIFIER_TASK:
        c1, c2 = st.columns(2)
        text_col = _column_select("Text column", cols, _role(opt.roles, "text"), "ft_text_col")
        label_col = _column_select("Label column", cols, _role(opt.roles, "label"), "ft_label_col")
        c1, c2 = st.columns(2)
        class_weights = c1.checkbox("Class weights (imbalanced labels)", key="ft_class_weights")
        freeze = c2.checkbox("Freeze word embeddings (faster)", value=True, key="ft_freeze_emb")
        if text_col and label_col:
            synthetic_rows = _synthetic_section(version_id, text_col, label_col)
        n_train = int(opt.row_counts.get("train") or opt.row_counts.get("total") or 0)
        train, lora = _train_params(task, n_train, version_id)
        params: ClassifierJobParams | CausalLMJobParams = ClassifierJobParams(
            name=name, dataset_version_id=version_id, base_model=base, train=train, lora=lora,
            text_column=text_col, label_column=label_col, class_weights=class_weights, freeze_embeddings=freeze,
            synthetic_examples=synthetic_rows,
        )  # fmt: skip
    else:
        prompt_col = _column_select("Brief column (empty: plain texts)", cols, "", "ft_prompt_col", optional=True)
        text_col = _column_select("Copy column", cols, _role(opt.roles, "text"), "ft_copy_col")
        system = st.text_area("System prompt (optional)", key="ft_system", height=68)
        train, lora = _train_params(task)
        params = CausalLMJobParams(
            name=name, dataset_version_id=version_id, base_model=base, train=train, lora=lora,
            prompt_column=prompt_col, text_column=text_col, system_prompt=system,
        )  # fmt: skip
    processes = int(
        st.number_input(
            "Processes", 0, 64, 0, key="ft_processes",
            help="Train on several processes, one per GPU (0: the AIGC_TRAIN_PROCESSES setting).",
        )
    )  # fmt: skip
    if processes > 1:
        st.caption(
            f"Trains on {processes} processes: the worker must give the job {processes} GPUs; without a GPU the "
            "processes share the CPU (gloo)."
        )
    params = params.model_copy(update={"processes": processes})
    c1, c2 = st.columns(2)
    if c1.button("Check data and estimate", key="ft_check"):
        check = ft_jobs.preflight_classifier if task == CLASSIFIER_TASK else ft_jobs.preflight_causal_lm
        with st.spinner("Checking the data and the base model…"):
            result = guard(check, params)
        if result is not None:
            pre = result[0]
            st.success(f"Ready: {pre.n_train} training, {pre.n_validation} validation, {pre.n_test} test examples.")
            if pre.class_counts:
                st.caption("Classes: " + literal(", ".join(f"{k} ({v})" for k, v in pre.class_counts.items())))
            for note in pre.notes:  # notes quote labels and column names of the data
                st.warning(literal(note))
            if pre.estimate is not None:
                st.info(literal(pre.estimate.summary()))
                for note in pre.estimate.notes:
                    st.warning(literal(note))
    if c2.button("Train", type="primary", key="ft_train"):
        with st.spinner("Checking and queueing the run…"):
            job_id = guard(ft_jobs.submit_finetune, params)
        if job_id:
            st.session_state["ft_watch"] = job_id
            st.success(f"Queued run {job_id}. Follow it on the **Runs** tab.")


# ------------------------------------------------------------------------------------------------
# Brand voice from preferences (DPO with TRL)
# ------------------------------------------------------------------------------------------------
PH = field_help(PreferenceJobParams)


def render_preferences() -> None:
    """Train the brand-voice LoRA with DPO on a preference dataset built from ad copy feedback."""
    with st.expander("Brand voice from preferences (DPO)", expanded=False):
        st.caption(
            "Learns from what your team picked: for each brief, the copy they used, liked or edited is preferred "
            "over the copy they disliked or left. Build the pairs on the **Feedback** page first."
        )
        options = [
            o for o in guard(runs.dataset_version_options) or [] if {"prompt", "chosen", "rejected"} <= set(o.columns)
        ]
        if not options:
            empty_state("No preference dataset yet.", hint="On the **Feedback** page, press Build preference data.")
            return
        by_id = {o.id: o for o in options}
        version_id = st.selectbox(
            "Preference data", list(by_id), format_func=lambda i: by_id[i].label, key="ft_pref_data"
        )
        choices = _base_choices(CAUSAL_LM_TASK)
        base = st.selectbox(
            "Base model", choices, format_func=lambda v: _label_base(v, CAUSAL_LM_TASK), key="ft_pref_base"
        )
        if base == "custom…":
            base = st.text_input("Hub id (org/name[@revision]) or local folder", key="ft_pref_base_custom").strip()
            base = base or "auto"
        name = st.text_input("Name of the model version", key="ft_pref_name", placeholder="e.g. brand voice, picks")
        defaults = PreferenceJobParams()
        c1, c2, c3, c4 = st.columns(4)
        beta = c1.number_input("Beta", 0.01, 10.0, defaults.beta, 0.05, key="ft_pref_beta", help=PH["beta"])
        epochs = c2.number_input(
            "Epochs", 0.5, 50.0, defaults.train.epochs, 0.5, key="ft_pref_epochs", help=TH["epochs"]
        )
        lr = c3.number_input(
            "Learning rate", 1e-6, 1e-2, defaults.train.learning_rate, format="%.0e", key="ft_pref_lr",
            help=TH["learning_rate"],
        )  # fmt: skip
        batch = c4.number_input("Batch size", 1, 64, defaults.train.batch_size, key="ft_pref_batch")
        c1, c2 = st.columns(2)
        max_len = c1.number_input("Max length (tokens)", 32, 2048, defaults.train.max_length, 32, key="ft_pref_maxlen")
        rank = c2.number_input("LoRA rank", 1, 128, defaults.lora.r, key="ft_pref_r", help=LH["r"])
        system = st.text_area("System prompt (optional)", key="ft_pref_system", height=68)
        params = PreferenceJobParams(
            name=name, dataset_version_id=version_id, base_model=base, beta=float(beta), system_prompt=system,
            train=defaults.train.model_copy(update={"epochs": float(epochs), "learning_rate": float(lr),
                                                    "batch_size": int(batch), "max_length": int(max_len)}),
            lora=defaults.lora.model_copy(update={"r": int(rank), "alpha": 2 * int(rank)}),
        )  # fmt: skip
        b1, b2 = st.columns(2)
        if b1.button("Check the preference data", key="ft_pref_check"):
            with st.spinner("Checking the pairs and the base model…"):
                result = guard(dpo.preflight_preferences, params)
            if result is not None:
                pre = result[0]
                st.success(f"Ready: {pre.n_train} training pairs, {pre.n_test} held-out pairs.")
                for note in pre.notes:
                    st.warning(literal(note))
        if b2.button("Train with DPO", type="primary", key="ft_pref_train"):
            with st.spinner("Checking and queueing the run…"):
                job_id = guard(dpo.submit_preferences, params)
            if job_id:
                st.session_state["ft_watch"] = job_id
                st.success(f"Queued run {job_id}. Follow it on the **Runs** tab; the result is on **Evaluation**.")


def render_preference_eval(v: registry.ModelVersionInfo) -> None:
    """Held-out preference accuracy of a DPO version against its base, and outputs side by side."""
    tuned, base = v.metrics.get("test", {}), v.metrics.get("base", {})
    n = v.metrics.get("n_test_pairs", 0)

    def pct(x: float | None) -> str:
        return "–" if x is None else f"{x:.0%}"

    c1, c2, c3 = st.columns(3)
    delta = None
    if tuned.get("logp_accuracy") is not None and base.get("logp_accuracy") is not None:
        delta = f"{(tuned['logp_accuracy'] - base['logp_accuracy']) * 100:+.0f} points vs base"
    c1.metric("Preference accuracy (tuned)", pct(tuned.get("logp_accuracy")), delta=delta)
    c2.metric("Preference accuracy (base)", pct(base.get("logp_accuracy")))
    c3.metric("Implicit reward accuracy", pct(tuned.get("reward_accuracy")))
    st.caption(
        f"On {n} held-out pairs (briefs not trained on). Preference accuracy: the model gives the chosen copy a "
        "higher per-token likelihood than the rejected one. Implicit reward accuracy: the DPO reward (tuned vs "
        "base log-probability) ranks the chosen copy first; 50% for the base by construction."
    )
    samples = v.metrics.get("samples", [])
    if samples:
        st.subheader("Held-out briefs: base vs tuned")
        st.dataframe(pd.DataFrame(samples), hide_index=True, key="ft_eval_pref_samples")


# ------------------------------------------------------------------------------------------------
# Runs: live view, history, comparison
# ------------------------------------------------------------------------------------------------
CURVE_KEYS = {
    "loss": "train loss",
    "eval_loss": "validation loss",
    "eval_macro_f1": "validation macro-F1",
    "eval_accuracy": "validation accuracy",
}


def curves_figure(series: dict[str, list[dict]], keys: list[str], title: str) -> go.Figure:
    fig = go.Figure()
    for run_name, records in series.items():
        for key in keys:
            pts = [(r["step"], r[key]) for r in records if key in r]
            if pts:
                x, y = zip(*pts, strict=True)
                label = CURVE_KEYS.get(key, key)
                fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=f"{run_name} · {label}"))
    fig.update_layout(title=title, xaxis_title="step", height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f" · about {seconds / 60:.0f} min left" if seconds >= 120 else f" · about {seconds:.0f} s left"


def render_run(run: runs.RunInfo) -> None:
    progress_bar(run.progress, f"{run.status}: {literal(run.message)}{_fmt_eta(run.eta_s)}")
    if run.error:
        st.error(literal(run.error, code=True))
    curves = guard(runs.run_curves, run.id) or []
    if curves:
        c1, c2 = st.columns(2)
        c1.plotly_chart(curves_figure({run.name: curves}, ["loss", "eval_loss"], "Loss"), key=f"ft_loss_{run.id}")
        c2.plotly_chart(
            curves_figure({run.name: curves}, ["eval_macro_f1", "eval_accuracy"], "Validation metrics"),
            key=f"ft_metric_{run.id}",
        )
    else:
        st.caption("No metrics yet: curves appear after the first logged steps.")
    lines = guard(runs.run_log_tail, run.id, 30) or []
    with st.expander("Log", expanded=run.active):
        st.code("\n".join(lines) or "(empty)", language=None)
    c1, c2, c3 = st.columns(3)
    if run.active and c1.button("Cancel", key=f"ft_cancel_{run.id}"):
        guard(runs.cancel_run, run.id)
        st.toast("Cancel requested: the run saves a checkpoint and stops.")
    if run.status in {"cancelled", "failed"} and c2.button("Resume from last checkpoint", key=f"ft_resume_{run.id}"):
        new_id = guard(runs.resume_run, run.id)
        if new_id:
            st.session_state["ft_watch"] = new_id
            st.toast(f"Resumed as run {new_id}.")
    version_id = run.result.get("model_version_id")
    if version_id:
        c3.caption(f"Model version: {code_span(version_id)}")
        version = guard(registry.get_version, version_id)
        worse = registry.worse_than_base(version) if version is not None else ""
        if worse:  # said where the run ends, not only in the registry (#14: it was registered silently)
            st.warning(
                f"This model is worse than its base model: {literal(worse)}. It stays in the registry to compare, "
                "but it cannot become the default anywhere. With little data, try more epochs, LoRA off, or "
                "keep the base model.",
                icon=":material/warning:",
            )


@st.fragment(run_every="3s")
def live_runs() -> None:
    all_runs = guard(runs.list_runs) or []
    if not all_runs:
        empty_state("No fine-tuning runs yet.", hint="Start one on the **Train** tab.")
        return
    by_id = {r.id: r for r in all_runs}
    # A run that finished since the last poll changes the history, the evaluation and the registry too,
    # which live outside this fragment: rerun the whole page once.
    active = {r.id for r in all_runs if r.active}
    was_active = st.session_state.get("ft_active_runs", set())
    st.session_state["ft_active_runs"] = active
    if was_active - active:
        st.rerun()
    watch = st.session_state.get("ft_watch")
    ids = list(by_id)
    index = ids.index(watch) if watch in by_id else 0
    chosen = st.selectbox(  # the status is on the progress line: a label that changes would not refresh here
        "Run", ids, index=index, key="ft_run_pick",
        format_func=lambda i: f"{by_id[i].name} ({by_id[i].created_at:%Y-%m-%d %H:%M})",
    )  # fmt: skip
    render_run(by_id[chosen])


def render_runs() -> None:
    live_runs()
    all_runs = guard(runs.list_runs) or []
    if len(all_runs) < 1:
        return
    st.subheader("History")
    table = pd.DataFrame(
        [
            {
                "run": r.name,
                "task": "classifier" if r.kind == ft_jobs.CLASSIFIER_KIND else "brand voice",
                "status": r.status,
                "created": r.created_at.strftime("%Y-%m-%d %H:%M"),
                "base model": r.params.get("base_model", ""),
                "epochs": r.params.get("train", {}).get("epochs"),
                "lr": r.params.get("train", {}).get("learning_rate"),
                "model version": r.result.get("model_version_id", ""),
                "macro-F1": (r.result.get("test") or {}).get("macro_f1"),
                "perplexity": r.result.get("perplexity"),
            }
            for r in all_runs
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch", key="ft_history")
    by_name = {r.name: r for r in all_runs}
    picked = st.multiselect("Compare runs side by side", list(by_name), max_selections=6, key="ft_compare")
    if picked:
        series = {n: guard(runs.run_curves, by_name[n].id) or [] for n in picked}
        c1, c2 = st.columns(2)
        c1.plotly_chart(curves_figure(series, ["loss", "eval_loss"], "Loss"), key="ft_cmp_loss")
        c2.plotly_chart(curves_figure(series, ["eval_macro_f1"], "Validation macro-F1"), key="ft_cmp_f1")


# ------------------------------------------------------------------------------------------------
# Evaluation
# ------------------------------------------------------------------------------------------------
def confusion_figure(report: dict) -> go.Figure:
    labels = report["labels"]
    fig = go.Figure(
        go.Heatmap(z=report["confusion"], x=labels, y=labels, colorscale="Blues", text=report["confusion"],
                   texttemplate="%{text}", hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>")
    )  # fmt: skip
    fig.update_layout(xaxis_title="predicted", yaxis_title="true", height=380, yaxis_autorange="reversed")
    return fig


def render_eval() -> None:
    versions = guard(registry.list_versions) or []
    if not versions:
        empty_state("No model versions yet.", hint="Each finished run adds one; start a run on the **Train** tab.")
        return
    by_id = {v.id: v for v in versions}
    vid = st.selectbox(
        "Model version", list(by_id), key="ft_eval_pick",
        format_func=lambda i: f"{by_id[i].name} ({by_id[i].task}, {by_id[i].created_at:%Y-%m-%d %H:%M})",
    )  # fmt: skip
    v = by_id[vid]
    tuned, base = v.metrics.get("test", {}), v.metrics.get("base", {})
    if v.task == CLASSIFIER_TASK:
        if not tuned:
            st.info("This version was trained without a test or validation split, so it has no scores.")
            return
        rows = [
            {"metric": k, "tuned": tuned.get(k), "base": base.get(k), "gain": (tuned.get(k) or 0) - (base.get(k) or 0)}
            for k in ("accuracy", "macro_f1")
        ]
        st.dataframe(pd.DataFrame(rows), hide_index=True, key="ft_eval_summary")
        if base.get("method"):
            st.caption(f"Base model: {literal(base['method'])}, same test split.")
        per_class = pd.DataFrame(tuned["per_class"]).T.reset_index(names="class")
        st.dataframe(per_class, hide_index=True, key="ft_eval_per_class")
        c1, c2 = st.columns(2)
        c1.plotly_chart(confusion_figure(tuned), key="ft_eval_cm")
        if base.get("confusion"):
            c2.plotly_chart(confusion_figure(base), key="ft_eval_cm_base")
            c2.caption("Base model")
        st.subheader("Worst misclassified examples")
        st.dataframe(pd.DataFrame(tuned.get("worst", [])), hide_index=True, key="ft_eval_worst")
    elif v.meta.get("method") == "dpo":
        render_preference_eval(v)
    else:
        c1, c2 = st.columns(2)
        c1.metric("Perplexity (tuned)", f"{tuned.get('perplexity', float('nan')):.2f}")
        delta = None
        if tuned.get("perplexity") and base.get("perplexity"):
            delta = f"{tuned['perplexity'] - base['perplexity']:+.2f} vs base"
        c2.metric(
            "Perplexity (base)", f"{base.get('perplexity', float('nan')):.2f}", delta=delta, delta_color="inverse"
        )
        samples = v.metrics.get("samples", [])
        if samples:
            st.subheader("Held-out briefs: base vs tuned")
            st.dataframe(pd.DataFrame(samples), hide_index=True, key="ft_eval_samples")


# ------------------------------------------------------------------------------------------------
# Registry
# ------------------------------------------------------------------------------------------------
def render_gguf(v: registry.ModelVersionInfo, can_export: bool) -> None:
    """GGUF for llama.cpp and Ollama: export as a background job, then the file and its round-trip check."""
    st.markdown("**GGUF for llama.cpp and Ollama**")
    c1, c2 = st.columns([1, 2])
    outtype = c1.radio(
        "GGUF type", list(gguf_export.OUTTYPES), key="ft_reg_gguf_type", horizontal=True,
        help="f16: the weights as trained; q8_0: 8-bit, about half the size, nearly the same answers.",
    )  # fmt: skip
    installed = gguf_export.converter_script() is not None
    why = "" if can_export else "Only the version's owner or an admin exports it."
    if not installed:
        why = "llama.cpp's GGUF converter is not installed: run scripts/setup.sh."
    if c1.button("Export GGUF", key="ft_reg_gguf", disabled=bool(why), help=why or None):
        job_id = guard(gguf_export.submit_gguf_export, v.id, outtype)
        if job_id:
            st.session_state["ft_gguf_job"] = job_id
            st.toast(f"Queued GGUF export {job_id}.")
    c2.caption(
        "Converted with llama.cpp's own converter (a LoRA adapter is merged first), then loaded back with llama.cpp: "
        "the chat template and end-of-turn token must match the tokenizer's and a short brief must get an answer "
        "that stops on its own without repeating itself."
    )
    if st.session_state.get("ft_gguf_job"):
        gguf_job_progress()
    for e in gguf_export.exports_of(v):
        size = f"{e.size_bytes / 1024**2:,.1f} MiB"
        where = code_span(e.path) if e.exists else f"{code_span(e.path)} (file missing)"
        ok = e.check is not None and e.check.ok
        (st.success if ok else st.warning)(f"{e.outtype}: {where}, {size}. {literal(e.summary())}")
        if e.check is not None:
            with st.expander(f"Round-trip answer ({e.outtype})", expanded=not ok):
                st.caption(f"Brief: {literal(e.check.brief)} · finish reason {code_span(e.check.finish_reason)}")
                st.code(e.check.sample or "(empty)", language=None)
                for note in e.check.notes:
                    st.warning(literal(note))


@st.fragment(run_every=2)
def gguf_job_progress() -> None:
    """The submitted GGUF export job, refreshing itself while it runs."""
    job = guard(gguf_export.export_job, st.session_state["ft_gguf_job"])
    if job is None:
        return
    progress_bar(job.progress, literal(f"GGUF export {job.status}: {job.message}"))
    if job.finished and job.status != "succeeded":
        st.error(literal(job.error or job.message, code=True))
    rerun_page_when_done(job, "ft_gguf_seen_done")  # the recorded file and check are shown outside this fragment


def render_registry() -> None:
    versions = guard(registry.list_versions) or []
    if not versions:
        empty_state("The registry is empty.", hint="Every finished run registers a model version here.")
        return
    table = pd.DataFrame(
        [
            {
                "promoted": "★" if v.promoted else "",
                "name": v.name,
                "task": v.task,
                "id": v.id,
                "base model": v.base_model,
                "macro-F1": v.metrics.get("test", {}).get("macro_f1"),
                "perplexity": v.metrics.get("test", {}).get("perplexity"),
                "parent": v.parent_id or "",
                "adapter": "LoRA" if v.has_adapter else "",
                "owner": v.owner,
                "shared": v.shared,
                "created": v.created_at.strftime("%Y-%m-%d %H:%M"),
            }
            for v in versions
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch", key="ft_reg_table")
    by_id = {v.id: v for v in versions}
    vid = st.selectbox("Version", list(by_id), key="ft_reg_pick", format_func=lambda i: f"{by_id[i].name} ({i})")
    v = by_id[vid]
    who = current()
    mine = allowed(who, "change", owner=v.owner, shared=v.shared or v.promoted)
    st.caption(f"Use it elsewhere as {code_span(v.ref)}; the promoted {v.task} version is the default on the Ad copy "
               "and Sentiment pages.")  # fmt: skip
    worse = registry.worse_than_base(v)
    if worse:
        st.warning(f"Not promotable: {literal(worse)}.")
    if mine and not v.promoted:
        shared = st.toggle("Shared with the team", value=v.shared, key=f"ft_reg_shared_{v.id}")
        if shared != v.shared and guard(registry.set_version_shared, v.id, shared) is not None:
            st.toast("Shared with the team." if shared else "Private again.")
            st.rerun()
    else:
        st.caption(f"Owner: {literal(v.owner) or '—'}" + (" · promoted: the whole team uses it" if v.promoted else ""))
    c1, c2, c3, c4 = st.columns(4)
    admin_help = None if who.is_admin else "Only an admin promotes or rolls back a model for everyone."
    promote_off = v.promoted or bool(worse) or not who.is_admin
    if c1.button("Promote", key="ft_reg_promote", disabled=promote_off, help=admin_help) and guard(
        registry.promote, v.id
    ):
        st.toast(f"{literal(v.name)} is now the promoted {v.task} model.")
        st.rerun()
    if c2.button(f"Roll back {v.task}", key="ft_reg_rollback", disabled=not who.is_admin, help=admin_help):
        back = guard(registry.rollback, v.task)
        if back:
            st.toast(f"Rolled back to {literal(back.name)}.")
            st.rerun()
    fmt = c3.radio("Export as", ["zip", "folder"], key="ft_reg_fmt", horizontal=True)
    merge = True
    if v.has_adapter and v.task == CAUSAL_LM_TASK:
        merge = c3.checkbox("Merge adapter into the weights", value=True, key="ft_reg_merge")
    if c3.button("Export", key="ft_reg_export"):
        with st.spinner("Exporting…"):
            path = guard(registry.export_version, v.id, fmt=fmt, merge=merge)
        if path is not None:
            st.success(f"Exported to {code_span(path)} (loadable with `from_pretrained`).")
            if path.suffix == ".zip" and path.stat().st_size < 500 * 1024**2:
                st.download_button("Download zip", path.read_bytes(), file_name=path.name, key="ft_reg_download")
    with c4:
        more = st.number_input("More epochs", 0.5, 50.0, 1.0, 0.5, key="ft_reg_more")
        if st.button("Continue training", key="ft_reg_continue", disabled=not who.can_create):
            job_id = guard(ft_jobs.continue_version, v.id, more)
            if job_id:
                st.session_state["ft_watch"] = job_id
                st.toast(f"Queued run {job_id} (continues {literal(v.name)}).")
    if v.task == CAUSAL_LM_TASK:
        render_gguf(v, mine and who.can_create)
    if not mine:
        return
    with st.expander("Delete this version"):
        used = guard(registry.usages, v.id) or []
        if used:
            st.warning("Still in use: " + literal("; ".join(used)) + ". Deleting is blocked until nothing uses it.")
        if st.button("Delete", key="ft_reg_delete", disabled=bool(used)):
            try:
                registry.delete_version(v.id)
                st.toast(f"Deleted {literal(v.name)}.")
                st.rerun()
            except Exception as exc:
                show_error(exc)


with tab_train:
    render_train()
    render_preferences()
with tab_runs:
    render_runs()
with tab_eval:
    render_eval()
with tab_registry:
    render_registry()
