"""Parameters of the fine-tuning jobs: pydantic models with defaults and help text (the form is built from them)."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Precision = Literal["auto", "fp32", "bf16", "fp16"]
CLASSIFIER_TASK = "text-classification"
CAUSAL_LM_TASK = "text-generation"


class TrainParams(BaseModel):
    """Optimisation settings shared by both trainers."""

    model_config = ConfigDict(extra="forbid")

    epochs: float = Field(3.0, gt=0, le=100, description="Passes over the training split.")
    learning_rate: float = Field(5e-5, gt=0, le=1.0, description="Peak learning rate (LoRA usually wants ~2e-4).")
    batch_size: int = Field(32, ge=1, le=1024, description="Examples per step on one device.")
    grad_accum: int = Field(1, ge=1, le=256, description="Steps whose gradients are summed before an update.")
    max_length: int = Field(128, ge=8, le=8192, description="Longest text in tokens; longer texts are truncated.")
    warmup_ratio: float = Field(0.06, ge=0, lt=1, description="Share of the steps with a linear warm-up.")
    weight_decay: float = Field(0.01, ge=0, le=1, description="AdamW weight decay.")
    seed: int = Field(42, ge=0, description="Random seed (data order, initialisation of new layers).")
    eval_steps: int = Field(
        0,
        ge=0,
        description="Evaluate and save a checkpoint every N steps; 0: about 10 per run, at most every 50 steps.",
    )
    early_stopping_patience: int = Field(
        3, ge=0, le=100, description="Stop after this many evaluations without improvement; 0 turns it off."
    )
    precision: Precision = Field("auto", description="auto: bf16 (or fp16) on a GPU, fp32 on the CPU.")
    torch_compile: bool = Field(False, description="Compile the model with torch.compile (GPU; slow first steps).")
    group_by_length: bool = Field(True, description="Batch texts of similar length together (less padding).")
    save_total_limit: int = Field(2, ge=1, le=20, description="Checkpoints kept in the job folder.")
    max_steps: int = Field(-1, description="Stop after this many optimiser steps (-1: run all epochs).")
    logging_steps: int = Field(0, ge=0, description="Log the training loss every N steps; 0 picks a value.")


class LoraParams(BaseModel):
    """Low-rank adapters (peft): train a few million extra weights instead of the whole model."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="Train LoRA adapters instead of all weights.")
    r: int = Field(8, ge=1, le=512, description="Adapter rank.")
    alpha: int = Field(16, ge=1, le=1024, description="Adapter scaling (alpha / r multiplies the update).")
    dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the adapter input.")
    target_modules: list[str] | None = Field(
        None, description="Layer names to adapt; empty picks the architecture's attention projections."
    )


class _JobBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=200, description="Name of the resulting model version.")
    dataset_version_id: str = Field("", description="Dataset version to train on (uses its train/validation/test).")
    base_model: str = Field("auto", description="Catalog key, hub id, local folder or registry:<version id>.")
    train: TrainParams = Field(default_factory=TrainParams)
    lora: LoraParams = Field(default_factory=LoraParams)
    parent_id: str | None = Field(None, description="Model version this run continues from (more epochs).")
    resume_from_job: str | None = Field(None, description="Job whose last checkpoint this run resumes from.")
    synthetic_examples: list[dict[str, Any]] = Field(
        default_factory=list, description="Reviewed synthetic rows added to the training split (marked synthetic)."
    )
    evaluate_base: bool = Field(True, description="Also evaluate the base model on the test split.")

    def stored(self) -> dict[str, Any]:
        """The parameters as stored with the job and the model version (no secrets: hub access uses HF_TOKEN)."""
        return self.model_dump(mode="json")


SMALL_DATA_ROWS = 3000  # below this many training rows the classifier defaults aim at a number of steps
SMALL_DATA_STEPS = 200  # optimiser steps a small-data run aims at (batch 16), early stopping on validation


def classifier_train_defaults(n_train: int) -> TrainParams:
    """The classifier form's defaults for a training split of ``n_train`` rows. Small data gets more passes at a
    higher learning rate and smaller batches (about SMALL_DATA_STEPS steps, early stopping on validation): the plain
    defaults (3 epochs at 5e-5) scored macro-F1 0.22 on 160 tweets against 0.62 for the frozen-encoder baseline,
    these 0.62 (bench/finetune.py --small-data)."""
    if n_train <= 0 or n_train >= SMALL_DATA_ROWS:
        return TrainParams()
    steps_per_epoch = math.ceil(n_train / 16)
    epochs = min(20, max(3, math.ceil(SMALL_DATA_STEPS / steps_per_epoch)))
    return TrainParams(epochs=float(epochs), learning_rate=1e-4, batch_size=16, max_length=64)


class ClassifierJobParams(_JobBase):
    """A text-classification run (sentiment, topic, intent)."""

    text_column: str = Field("", description="Column with the text; empty uses the dataset's text role.")
    label_column: str = Field("", description="Column with the label; empty uses the dataset's label role.")
    class_weights: bool = Field(False, description="Weight the loss by inverse class frequency (imbalanced labels).")
    freeze_embeddings: bool = Field(
        True,
        description="Keep the word-embedding matrix fixed (full fine-tuning): faster steps and smaller checkpoints, "
        "rarely costs accuracy.",
    )
    min_examples_per_class: int = Field(10, ge=1, description="Refuse to train when a class has fewer examples.")
    processes: int = Field(
        0,
        ge=0,
        le=64,
        description="Processes to train on (one per GPU, or gloo on the CPU); 0 uses the AIGC_TRAIN_PROCESSES setting.",
    )


class CausalLMJobParams(_JobBase):
    """A brand-voice language-model run: brief -> copy pairs, or plain texts."""

    train: TrainParams = Field(
        default_factory=lambda: TrainParams(learning_rate=2e-4, batch_size=8, max_length=256, epochs=2)
    )
    lora: LoraParams = Field(default_factory=lambda: LoraParams(enabled=True))
    prompt_column: str = Field("", description="Column with the brief; empty trains on plain texts.")
    text_column: str = Field("", description="Column with the copy (the answer); empty uses the text role.")
    system_prompt: str = Field("", max_length=2000, description="Optional system message in the chat template.")
    merge_on_export: bool = Field(True, description="Merge the adapter into the weights when exporting.")
    sample_briefs: int = Field(3, ge=0, le=20, description="Held-out briefs shown base vs tuned after training.")
    processes: int = Field(
        0,
        ge=0,
        le=64,
        description="Processes to train on (one per GPU, or gloo on the CPU); 0 uses the AIGC_TRAIN_PROCESSES setting.",
    )

    @field_validator("text_column", "prompt_column")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()


def field_help(model: type[BaseModel]) -> dict[str, str]:
    """Help text of each field, for the form's tooltips."""
    return {name: f.description or "" for name, f in model.model_fields.items()}
