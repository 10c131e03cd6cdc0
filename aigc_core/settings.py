"""Every setting of AIGC Studio, declared once with its default and help text.

Each field is read from an environment variable named ``AIGC_<FIELD NAME IN CAPITALS>``
(or from a ``.env`` file in the working directory). The README's settings table is
generated from this class by ``python -m aigc_core.settings --markdown`` and a test fails
when the two differ.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "AIGC_"


class Settings(BaseSettings):
    """Application settings (environment variables prefixed ``AIGC_``)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", validate_default=True)

    data_dir: Path = Field(
        default=Path("data"),
        description="Folder for the database, uploaded datasets, images, model versions, caches and job logs.",
    )
    database_url: str = Field(
        default="",
        description=(
            "SQLAlchemy URL of the store. Empty means SQLite at `<data_dir>/aigc.db`; "
            "set e.g. `postgresql+psycopg://user:pw@host/aigc` when a team shares one store."
        ),
    )
    device: str = Field(
        default="auto",
        description="Compute device: `auto` (cuda > mps > cpu), `cpu`, `cuda`, `cuda:N` or `mps`.",
    )
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        default="auto",
        description="Model precision: `auto` is bfloat16 (or float16) on a GPU and float32 on the CPU.",
    )
    cpu_bf16_inference: bool = Field(
        default=True,
        description=(
            "With `AIGC_DTYPE=auto`, score texts (sentiment) in bfloat16 on CPUs with native bf16 instructions "
            "(AVX512-BF16/AMX): about 2x faster at the same macro-F1 (see bench/sentiment.py)."
        ),
    )
    cpu_packed_linear: bool = Field(
        default=True,
        description=(
            "On x86 CPUs, run the large linear layers of inference models (language model, classifiers, "
            "encoders) through oneDNN with weights packed at load time: same results, faster batched "
            "generation and scoring (see bench/ad_copy.py). Turn off to use PyTorch's default kernels."
        ),
    )
    offline: bool = Field(
        default=False,
        description=(
            "Never contact the model hub: only local folders, the hub cache and models shipped in "
            "installed packages are used. Also on when `HF_HUB_OFFLINE=1`."
        ),
    )
    text_generation_model: str = Field(
        default="auto",
        description=(
            "Language model for ad copy: `auto`, a catalog key (see the Models & jobs page), "
            "a hub id (`org/name` or `org/name@revision`) or a local folder."
        ),
    )
    text_generation_backend: Literal["auto", "llama.cpp", "transformers", "server"] = Field(
        default="auto",
        description=(
            "Engine that runs the language model: `auto` runs GGUF files (the embedded models) on llama.cpp "
            "when `llama-cpp-python` is installed and everything else on transformers; `llama.cpp` or "
            "`transformers` forces one (see bench/ad_copy.py for their speed); `server` sends every "
            "generation to the OpenAI-compatible inference server at `AIGC_TEXT_GENERATION_SERVER_URL`."
        ),
    )
    text_generation_server_url: str = Field(
        default="",
        description=(
            "OpenAI API root of the inference server used with `AIGC_TEXT_GENERATION_BACKEND=server` (vLLM, "
            "llama.cpp's server, TGI, Ollama …), e.g. `http://127.0.0.1:8080/v1`."
        ),
    )
    text_generation_server_model: str = Field(
        default="",
        description="Model name sent to the inference server; empty means the first model it lists.",
    )
    text_generation_server_api_key: SecretStr = Field(
        default=SecretStr(""),
        description="API key for the inference server (sent as a bearer token); empty when it needs none.",
    )
    text_generation_server_api_key_file: str = Field(
        default="",
        description=(
            "File holding the inference server's API key (a mounted secret such as `/run/secrets/llm_key`), "
            "read when `AIGC_TEXT_GENERATION_SERVER_API_KEY` is empty."
        ),
    )
    text_generation_server_timeout_s: float = Field(
        default=60.0,
        gt=0.0,
        le=3600.0,
        description="Seconds to wait for the inference server's answer (or its next streamed chunk) before giving up.",
    )
    text_generation_server_parallel: int = Field(
        default=4,
        ge=1,
        le=256,
        description=(
            "Generations this app process runs on the inference server at once (each sends its candidates as "
            "parallel requests); later users wait in a first-come queue and see their place."
        ),
    )
    text_generation_server_context: int = Field(
        default=2048,
        ge=128,
        le=1_048_576,
        description="Context length (tokens) of the served model, used to fit prompts before they are sent.",
    )
    text_generation_server_prompt: Literal["chat", "completion"] = Field(
        default="chat",
        description=(
            "How prompts go to the inference server: `chat` (messages; the server applies the model's chat "
            "template) or `completion` (a plain few-shot prompt, for base models)."
        ),
    )
    text_generation_batching: bool = Field(
        default=True,
        description=(
            "Merge the generation requests of sessions that wait for the same in-process transformers model "
            "into one batched `generate` (many users on one model; see bench/ad_copy.py). A merged request is "
            "sampled alongside others, so its seed reproduces it only when it runs alone."
        ),
    )
    llama_threads: int = Field(
        default=0,
        ge=0,
        le=512,
        description="CPU threads llama.cpp uses per model: 0 is half the cores (its threads spin while they wait, "
        "so all the cores would starve the app and the worker).",
    )
    sentiment_model: str = Field(
        default="auto",
        description="Sentiment classifier: `auto`, a catalog key, a hub id, a local folder or `registry:<version id>`.",
    )
    text_to_image_model: str = Field(
        default="auto",
        description=(
            "Diffusion model for the Images page: `auto`, a catalog key, a hub id, a local diffusers "
            "folder or a single `.safetensors` checkpoint."
        ),
    )
    upscale_model: str = Field(
        default="",
        description=(
            "Diffusion upscaler for the Images page's Edit tab (4x, e.g. `sd-x4-upscaler`): a catalog key, a hub "
            "id, a local diffusers folder with a `StableDiffusionUpscalePipeline`, or `auto` (the catalog's "
            "upscaler). Empty or `off` means none: upscaling is Lanczos + unsharp mask only."
        ),
    )
    image_compile: Literal["off", "fast", "compile", "max-autotune", "cudagraphs"] = Field(
        default="fast",
        description=(
            "Speed-ups for the image model on a GPU, applied once at load time: `fast` (channels_last + fused "
            "QKV), `compile` (also `torch.compile`, about a minute at load), `max-autotune` (several minutes), "
            "`cudagraphs` (CUDA graphs, fastest at batch 1, more memory) or `off`. Ignored on the CPU."
        ),
    )
    embedding_model: str = Field(
        default="auto",
        description=(
            "Sentence encoder (deduplication, similarity, classifier base): `auto`, a catalog key, hub id or folder."
        ),
    )
    model_memory_budget_gb: float = Field(
        default=0.0,
        ge=0.0,
        description=(
            "Memory the loaded models may use together before the least recently used one is unloaded. "
            "0 means automatic: 85% of free GPU memory, or 50% of RAM on the CPU."
        ),
    )
    max_upload_mb: int = Field(
        default=200, ge=1, le=100_000, description="Largest file a user may upload, in megabytes."
    )
    job_workers: int = Field(
        default=2, ge=1, le=64, description="Worker processes that run background jobs (training, batch scoring)."
    )
    gpu_jobs_per_device: int = Field(
        default=1, ge=1, le=16, description="How many GPU-heavy jobs may run at once on one device."
    )
    job_cancel_grace_s: float = Field(
        default=20.0, ge=0.0, description="Seconds a cancelled job may take to stop cleanly before it is terminated."
    )
    worker_name: str = Field(
        default="",
        description=(
            "Name of this job worker in the jobs table (its GPU slots are counted under it); empty means the "
            "machine's host name. Give each worker that shares a store with others its own name."
        ),
    )
    job_heartbeat_timeout_s: float = Field(
        default=60.0,
        ge=1.0,
        le=86_400.0,
        description=(
            "Seconds without a heartbeat after which any worker treats a running job as abandoned (its host "
            "died) and marks it failed with the reason. Hosts sharing a store need clocks in sync (NTP)."
        ),
    )
    worker_gpu_jobs_on_cpu: bool = Field(
        default=True,
        description=(
            "On a worker without a GPU, run GPU-class jobs (training, images) on the CPU, one at a time. Turn off "
            "on CPU-only extra workers that share a queue with GPU hosts: they then take CPU jobs only."
        ),
    )
    train_processes: int = Field(
        default=1,
        ge=1,
        le=64,
        description=(
            "Processes a fine-tuning run trains on when its form leaves Processes at 0: above 1 the job starts "
            "`torch.distributed.run` with that many ranks, one per GPU (the job must see as many GPUs), or gloo "
            "on the CPU."
        ),
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Logging level of the app and the workers."
    )
    # Teams and security ------------------------------------------------------------------------
    server_address: str = Field(
        default="127.0.0.1",
        description=(
            "Network address the app listens on. `127.0.0.1` serves this machine only; `0.0.0.0` (or a host's "
            "address) serves the network, and then sign-in is always on."
        ),
    )
    server_port: int = Field(default=8501, ge=1, le=65535, description="Port the app listens on.")
    auth: Literal["on", "off"] = Field(
        default="on",
        description=(
            "Sign-in. `off` makes everyone the local admin `local` and is refused unless the app listens on "
            "127.0.0.1 (a one-person machine)."
        ),
    )
    session_hours: float = Field(
        default=12.0, gt=0.0, le=24.0 * 30, description="Hours a sign-in lasts before the user must sign in again."
    )
    login_max_failures: int = Field(
        default=5, ge=1, le=100, description="Failed sign-ins in a row after which an account is locked for a while."
    )
    login_lock_minutes: float = Field(
        default=15.0, ge=0.0, le=24.0 * 60, description="Minutes an account stays locked after too many failures."
    )
    sso_role_rules: str = Field(
        default="",
        description=(
            "Single sign-on (`st.login`): how the identity provider's users get roles, as `match=role` pairs "
            "separated by `;`, first match wins. `match` is an e-mail domain (`@example.com`), an address or "
            "`group:<name>` of the `groups` claim; e.g. `group:studio-admins=admin;@example.com=editor`. A user no "
            "rule matches gets no access until an admin adds them."
        ),
    )
    watch_roots: str = Field(
        default="",
        description=(
            "Folders (separated by `:`) under which monitors may watch for new files; empty means "
            "`<data_dir>/inbox` only. Only admins set it."
        ),
    )
    webhook_allowed_hosts: str = Field(
        default="",
        description=(
            "Host names (comma-separated) that alert webhooks may reach although they resolve to loopback, "
            "private or link-local addresses (e.g. a chat server inside the company network)."
        ),
    )
    allow_pickle_weights: bool = Field(
        default=False,
        description=(
            "Allow model weights in pickle formats (`.bin`, `.pt`, `.ckpt`), which can run code when loaded. "
            "Off: only safetensors and GGUF are loaded."
        ),
    )
    support_top_k: int = Field(
        default=3, ge=1, le=10, description="Passages of the knowledge base a support reply is drafted from."
    )
    support_min_similarity: float = Field(
        default=0.45,
        ge=0.0,
        le=2.0,
        description=(
            "Support replies: a ticket is answered from the knowledge base only when the relevance score (the best "
            "passage's cosine similarity plus 0.75 x its margin over the second best) reaches this (or the word "
            "coverage below); else it is handed to a person. Set by bench/support.py --tune."
        ),
    )
    support_min_coverage: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Support replies: the idf-weighted share of the ticket's words a passage must hold to count "
        "as relevant when its cosine similarity is below the threshold above.",
    )
    support_min_coverage_zh: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="Support replies: for a Chinese ticket with an English-only embedding model (its cosines "
        "mean little), the idf-weighted share of the ticket's jieba words a passage must hold to answer it. "
        "Set by bench/support.py --tune.",
    )
    support_embedding_model: str = Field(
        default="auto",
        description=(
            "Sentence encoder new knowledge-base versions are indexed with (each version keeps its own and is "
            "searched with it): `auto` is `AIGC_EMBEDDING_MODEL` (the embedded all-MiniLM offline), the encoder "
            "`AIGC_SUPPORT_MIN_SIMILARITY` was tuned on; `multilingual-e5-small` (hub, pinned) for Chinese and "
            "other languages once that threshold is re-tuned with `bench/support.py --tune`; or a catalog key, hub "
            "id or folder."
        ),
    )

    @property
    def watch_root_paths(self) -> list[Path]:
        """The folders monitors may watch, resolved (default: ``<data_dir>/inbox``)."""
        import os

        raw = [p for p in self.watch_roots.split(os.pathsep) if p.strip()]
        roots = [Path(p).expanduser().resolve() for p in raw] or [self.resolved_data_dir / "inbox"]
        return roots

    @property
    def webhook_allowed_host_set(self) -> set[str]:
        """Lower-cased host names webhooks may reach inside the network."""
        return {h.strip().lower() for h in self.webhook_allowed_hosts.split(",") if h.strip()}

    @field_validator("device")
    @classmethod
    def _check_device(cls, value: str) -> str:
        v = value.strip().lower()
        if v in {"auto", "cpu", "cuda", "mps"}:
            return v
        if v.startswith("cuda:") and v[5:].isdigit():
            return v
        raise ValueError(f"device must be auto, cpu, cuda, cuda:N or mps, not {value!r}")

    # Derived paths ---------------------------------------------------------------------
    @property
    def resolved_data_dir(self) -> Path:
        """Absolute data dir, created on first use."""
        path = self.data_dir.expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def resolved_database_url(self) -> str:
        """The store URL, defaulting to SQLite inside the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir / 'aigc.db'}"

    @property
    def is_offline(self) -> bool:
        """True when the hub must not be contacted."""
        import os

        return self.offline or os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}

    @property
    def max_upload_bytes(self) -> int:
        """Upload limit in bytes."""
        return self.max_upload_mb * 1024 * 1024


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()


def reset_settings() -> None:
    """Forget the cached settings so the environment is read again (tests, CLI)."""
    get_settings.cache_clear()


def settings_markdown_table() -> str:
    """The README's settings table, generated from :class:`Settings`."""
    rows = ["| Variable | Default | Description |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "" if default in ("", None) else str(default)
        rows.append(f"| `{ENV_PREFIX}{name.upper()}` | `{shown}` | {field.description} |")
    return "\n".join(rows)


if __name__ == "__main__":  # pragma: no cover - tiny CLI
    if "--markdown" in sys.argv:
        print(settings_markdown_table())
    else:
        print(get_settings().model_dump_json(indent=2))
