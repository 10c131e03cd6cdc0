"""Brand-voice language-model fine-tuning: chat-templated brief -> copy pairs (loss on the copy only) or plain
texts, LoRA by default, optional merge of the adapter on export."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aigc_core.errors import UserInputError
from aigc_core.finetune.params import CausalLMJobParams
from aigc_core.finetune.training import (
    TrainOutcome,
    apply_lora,
    make_progress_callback,
    plan_run,
    run_trainer,
    set_seed,
    torch_dtype,
    training_arguments,
)
from aigc_core.jobs.context import JobContext

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import torch

MIN_EXAMPLES = 10


@dataclass
class LMData:
    """Prompts (may be empty for plain texts) and answers per split, plus notes for the user."""

    train: list[tuple[str, str]]
    val: list[tuple[str, str]]
    test: list[tuple[str, str]]
    paired: bool
    notes: list[str] = field(default_factory=list)


def prepare_lm_data(
    train: pd.DataFrame,
    val: pd.DataFrame | None,
    test: pd.DataFrame | None,
    text_column: str,
    prompt_column: str = "",
    *,
    min_examples: int = MIN_EXAMPLES,
) -> LMData:
    """Check the splits (columns, empty answers, enough rows) and return (prompt, answer) pairs."""
    if not text_column:
        raise UserInputError(
            "A language-model run needs a text column (the copy to learn).",
            hint="Pick it in the form or set the text role of the dataset version on the Data page.",
        )
    needed = [text_column] + ([prompt_column] if prompt_column else [])
    out: dict[str, list[tuple[str, str]]] = {}
    notes: list[str] = []
    for name, df in (("train", train), ("validation", val), ("test", test)):
        if df is None:
            out[name] = []
            continue
        missing = [c for c in needed if c not in df.columns]
        if missing:
            raise UserInputError(
                f"The {name} split has no column {', '.join(repr(c) for c in missing)} "
                f"(columns: {', '.join(map(str, df.columns))}).",
                hint="Pick the brief and copy columns in the form.",
            )
        answers = df[text_column].fillna("").astype(str).str.strip()
        prompts = df[prompt_column].fillna("").astype(str).str.strip() if prompt_column else answers.map(lambda _: "")
        keep = answers != ""
        if prompt_column:
            keep &= prompts != ""
        dropped = int((~keep).sum())
        if dropped:
            notes.append(f"{dropped} {name} row(s) with an empty brief or copy were skipped.")
        out[name] = list(zip(prompts[keep].tolist(), answers[keep].tolist(), strict=True))
    if len(out["train"]) < min_examples:
        raise UserInputError(
            f"The training split has {len(out['train'])} usable example(s); at least {min_examples} are needed.",
            hint="Add more briefs and copy to the dataset, or use a version with a larger train split.",
        )
    if not out["validation"]:
        notes.append("No validation split: no perplexity during training and no early stopping.")
    return LMData(out["train"], out["validation"], out["test"], paired=bool(prompt_column), notes=notes)


def _messages(prompt: str, system_prompt: str) -> list[dict[str, str]]:
    msgs = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return [*msgs, {"role": "user", "content": prompt}]


def render_prompt(tokenizer: Any, prompt: str, system_prompt: str = "") -> str:
    """The prompt text the model sees before its answer (chat template when the tokenizer has one)."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(
            _messages(prompt, system_prompt), tokenize=False, add_generation_prompt=True
        )
    head = f"{system_prompt}\n\n" if system_prompt else ""
    return f"{head}### Brief:\n{prompt}\n\n### Copy:\n"


def tokenize_pairs(
    tokenizer: Any, pairs: list[tuple[str, str]], *, max_length: int, system_prompt: str = ""
) -> tuple[list[dict[str, list[int]]], int]:
    """Token ids with labels; prompt tokens get label -100 so the loss covers the answer only.

    Returns the features and how many examples were truncated to ``max_length``.
    """
    eos = tokenizer.eos_token or ""
    feats: list[dict[str, list[int]]] = []
    truncated = 0
    for prompt, answer in pairs:
        if prompt:
            p_ids = tokenizer(render_prompt(tokenizer, prompt, system_prompt), add_special_tokens=False)["input_ids"]
        else:
            p_ids = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
        a_ids = tokenizer(answer + eos, add_special_tokens=False)["input_ids"]
        ids = p_ids + a_ids
        labels = [-100] * len(p_ids) + list(a_ids)
        if len(ids) > max_length:
            truncated += 1
            ids, labels = ids[:max_length], labels[:max_length]
        if all(lab == -100 for lab in labels):
            continue  # the prompt alone filled max_length: nothing to learn
        feats.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels})
    return feats, truncated


def pad_batch(features: list[dict[str, Any]], pad_id: int = 0) -> dict[str, torch.Tensor]:
    """Right-pad a batch: pad id for inputs, 0 for the mask, -100 for labels."""
    import torch

    width = max(len(f["input_ids"]) for f in features)

    def pad(key: str, value: int) -> torch.Tensor:
        return torch.tensor([list(f[key]) + [value] * (width - len(f[key])) for f in features], dtype=torch.long)

    return {
        "input_ids": pad("input_ids", pad_id),
        "attention_mask": pad("attention_mask", 0),
        "labels": pad("labels", -100),
    }


class _Features:
    def __init__(self, feats: list[dict[str, list[int]]]) -> None:
        self.feats = feats

    def __len__(self) -> int:
        return len(self.feats)

    def __getitem__(self, i: int) -> dict[str, list[int]]:
        return self.feats[i]


def load_tokenizer(base_dir: Path) -> Any:
    """The base model's tokenizer with a pad token."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(base_dir))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def build_causal_lm(base_dir: Path, params: CausalLMJobParams, precision: str, adapter_dir: Path | None = None) -> Any:
    """The base LM, wrapped with (new or continued) LoRA adapters when LoRA is on."""
    from transformers import AutoModelForCausalLM

    dtype = torch_dtype(precision) if precision == "bf16" else None
    model = AutoModelForCausalLM.from_pretrained(str(base_dir), dtype=dtype)
    if adapter_dir is not None:
        from peft import PeftModel

        return PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=True)
    if params.lora.enabled:
        model = apply_lora(model, base_dir, params.lora, "CAUSAL_LM")
    return model


def train_causal_lm(
    base_dir: Path,
    train_feats: list[dict[str, list[int]]],
    val_feats: list[dict[str, list[int]]],
    params: CausalLMJobParams,
    ctx: JobContext,
    *,
    tokenizer: Any,
    device: str = "cpu",
    resume_from: Path | None = None,
    adapter_dir: Path | None = None,
) -> TrainOutcome:
    """Fine-tune the LM on tokenized features; checkpoints in ``ctx.work_dir/checkpoints``."""

    from transformers import EarlyStoppingCallback, Trainer

    tp = params.train
    set_seed(tp.seed)
    plan = plan_run(tp, len(train_feats), device)
    model = build_causal_lm(base_dir, params, plan.precision, adapter_dir)
    out_dir = Path(ctx.work_dir) / "checkpoints"
    has_eval = bool(val_feats)
    args = training_arguments(tp, plan, out_dir, metric="eval_loss", greater_is_better=False, has_eval=has_eval)
    progress = make_progress_callback(ctx)
    callbacks: list[Any] = [progress]
    if has_eval and tp.early_stopping_patience > 0:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=tp.early_stopping_patience))
    pad_id = tokenizer.pad_token_id or 0
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=_Features(train_feats),
        eval_dataset=_Features(val_feats) if has_eval else None,
        data_collator=lambda feats: pad_batch(feats, pad_id),
        callbacks=callbacks,
    )
    ctx.log(
        f"training {len(train_feats)} examples, {plan.total_steps} steps, device {device}, "
        f"precision {plan.precision}, LoRA {'on' if params.lora.enabled or adapter_dir else 'off'}"
    )
    return run_trainer(
        trainer,
        tokenizer=tokenizer,
        device=device,
        progress=progress,
        out_dir=out_dir,
        resume_from=resume_from,
        extra={"plan": plan.__dict__},
    )


def save_causal_lm(outcome: TrainOutcome, target: Path) -> dict[str, Any]:
    """LoRA: the adapter in ``adapter/`` (base referenced, not copied); full: the weights. Tokenizer always."""
    model = outcome.model
    target.mkdir(parents=True, exist_ok=True)
    if hasattr(model, "peft_config"):
        model.save_pretrained(str(target / "adapter"))
        files = {"adapter": True}
    else:
        model.save_pretrained(str(target), safe_serialization=True)
        files = {"adapter": False}
    outcome.tokenizer.save_pretrained(str(target))
    return files


def load_causal_lm(path: Path | str, base_dir: Path | str | None = None, *, merge: bool = False) -> tuple[Any, Any]:
    """A saved LM (base + adapter when the version holds an adapter) and its tokenizer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(path)
    tok = AutoTokenizer.from_pretrained(str(path))
    if (path / "adapter" / "adapter_config.json").is_file():
        from peft import PeftModel

        if base_dir is None:
            raise UserInputError("This model version is an adapter; its base model folder is needed to load it.")
        base = AutoModelForCausalLM.from_pretrained(str(base_dir))
        model = PeftModel.from_pretrained(base, str(path / "adapter"))
        if merge:
            model = model.merge_and_unload()
        return model.eval(), tok
    return AutoModelForCausalLM.from_pretrained(str(path)).eval(), tok
