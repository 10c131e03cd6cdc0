"""Export a brand-voice model version as one GGUF file for llama.cpp and Ollama, and check that it answers cleanly.

The conversion is llama.cpp's own ``convert_hf_to_gguf.py`` (scripts/setup.sh installs it, with the gguf-py it is
written against, from the llama-cpp-python source package into ``<venv>/share/llama.cpp``), run as a subprocess on
a Hugging Face folder of the version (a LoRA adapter is merged into its base first). The file is written atomically
into ``gguf/`` inside the version's folder (deleted with the version) and recorded in the version's ``meta["gguf"]``.

The round trip then opens the file with llama.cpp and checks what other tools' exports often lose, so that the
model rambles or repeats in llama.cpp or Ollama: the chat template and the end-of-turn (eos) token in the GGUF
metadata equal the version's tokenizer's, and a chat completion of a short brief, through the file's own template,
ends on the end-of-turn token (finish reason ``stop``, not ``length``) without a 4-token sequence three times.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from aigc_core.errors import AigcError, ModelUnavailableError, NotFoundError, UserInputError
from aigc_core.finetune import registry
from aigc_core.finetune.params import CAUSAL_LM_TASK
from aigc_core.jobs import job_kind
from aigc_core.jobs.context import JobContext
from aigc_core.models.loaders import llama_cpp_installed
from aigc_core.storage import atomic_path, file_sha256, folder
from aigc_core.store.db import session_scope
from aigc_core.users.audit import record
from aigc_core.users.roles import Actor, current

GGUF_KIND = "finetune.gguf_export"
OutType = Literal["f16", "q8_0"]
OUTTYPES: tuple[str, ...] = ("f16", "q8_0")
META_KEY = "gguf"
CONVERTER = "convert_hf_to_gguf.py"
DEFAULT_BRIEF = "Write a one-line slogan for a neighbourhood coffee shop."
CHECK_MAX_TOKENS = 128
REPEAT_N = 4  # a sequence of this many tokens …
REPEAT_TIMES = 3  # … seen this often in one answer is a loop
# Files of a version folder that are not the model (the model card's YAML header would become GGUF metadata).
_NOT_MODEL = {"README.md", "params.json", "metrics.json"}

Progress = Callable[[float, str], None]


# --------------------------------------------------------------------------------------------
# The converter
# --------------------------------------------------------------------------------------------
def converter_dir() -> Path:
    """Where scripts/setup.sh puts llama.cpp's converter: ``<venv>/share/llama.cpp``."""
    return Path(sys.prefix) / "share" / "llama.cpp"


def converter_script() -> Path | None:
    """llama.cpp's ``convert_hf_to_gguf.py`` with its gguf-py, or None when it is not installed."""
    d = converter_dir()
    script = d / CONVERTER
    return script if script.is_file() and (d / "gguf-py" / "gguf" / "__init__.py").is_file() else None


def converter_source() -> str:
    """What the converter was taken from (e.g. ``llama-cpp-python==0.3.36``); '' when unknown."""
    try:
        return (converter_dir() / "SOURCE").read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def require_converter() -> Path:
    """The converter script, or ModelUnavailableError saying how to install it."""
    script = converter_script()
    if script is None:
        raise ModelUnavailableError(
            f"llama.cpp's GGUF converter is not installed ({converter_dir() / CONVERTER}).",
            hint="Run scripts/setup.sh: it takes convert_hf_to_gguf.py from the llama-cpp-python source package.",
        )
    return script


def run_converter(
    script: Path,
    hf_dir: Path,
    outfile: Path,
    outtype: str,
    *,
    log: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> None:
    """``python convert_hf_to_gguf.py <hf_dir> --outfile <outfile> --outtype <outtype>``; ModelUnavailableError
    with the end of its output when it fails, AigcError when ``should_stop`` asked it to stop."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("NO_LOCAL_GGUF", None)  # the installed gguf wheel lacks what this converter uses: its own gguf-py
    cmd = [sys.executable, str(script), str(hf_dir), "--outfile", str(outfile), "--outtype", outtype]
    lines: list[str] = []
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=str(script.parent))
        while proc.poll() is None:
            if should_stop is not None and should_stop():
                proc.kill()
                proc.wait()
                raise AigcError("The GGUF export was stopped on request.", hint="Export again when needed.")
            time.sleep(0.2)
        out.seek(0)
        lines = out.read().splitlines()
    for line in lines:
        if log is not None and not line.startswith("Writing:"):
            log(line)
    if proc.returncode != 0:
        tail = "\n".join(line for line in lines[-12:] if line.strip())
        raise ModelUnavailableError(
            f"llama.cpp's converter could not convert the model (exit {proc.returncode}):\n{tail}",
            hint="Its architecture or tokenizer may be one this llama.cpp version does not know.",
        )


# --------------------------------------------------------------------------------------------
# The round-trip check
# --------------------------------------------------------------------------------------------
def repeated_ngram(tokens: Sequence[Any], n: int = REPEAT_N, times: int = REPEAT_TIMES) -> tuple[Any, ...] | None:
    """The first ``n``-token sequence that occurs ``times`` times or more in ``tokens`` (overlaps count)."""
    counts: Counter[tuple[Any, ...]] = Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    for gram, count in counts.items():
        if count >= times:
            return gram
    return None


@dataclass
class RoundTripCheck:
    """What the GGUF file does when llama.cpp loads it back, compared with the version's own tokenizer."""

    template_ok: bool
    eos_ok: bool
    stopped: bool
    repeats: bool
    finish_reason: str
    sample: str
    brief: str
    hf_eos_id: int | None = None
    gguf_eos_id: int | None = None
    repeated: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the template and eos survived and the answer ended cleanly without looping."""
        return self.template_ok and self.eos_ok and self.stopped and not self.repeats

    def summary(self) -> str:
        """One line for the page and the job message."""
        parts = [
            "chat template kept" if self.template_ok else "chat template lost or changed",
            "end-of-turn token kept" if self.eos_ok else "end-of-turn token differs",
            "the answer stopped on it" if self.stopped else f"the answer did not stop ({self.finish_reason})",
        ]
        if self.repeats:
            parts.append(f"it repeats {self.repeated!r}")
        return ("Round trip OK: " if self.ok else "Round-trip problem: ") + "; ".join(parts) + "."

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (stored in the version's meta and the job result)."""
        return {**asdict(self), "ok": self.ok}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoundTripCheck:
        """Inverse of :meth:`to_dict`."""
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def _llama_threads() -> int:
    from aigc_core.settings import get_settings

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return get_settings().llama_threads or max(1, cores // 2)  # as the app's llama.cpp backend does


def _hf_template(tok: Any) -> str | None:
    tpl = getattr(tok, "chat_template", None)
    if isinstance(tpl, dict):  # several named templates: the converter writes the default one as the main one
        tpl = tpl.get("default")
    return tpl or None


def check_round_trip(
    gguf_file: Path,
    tokenizer: Any,
    *,
    brief: str = DEFAULT_BRIEF,
    system_prompt: str = "",
    max_tokens: int = CHECK_MAX_TOKENS,
) -> RoundTripCheck:
    """Load ``gguf_file`` with llama.cpp, compare its chat template and eos id with ``tokenizer`` (the version's
    Hugging Face tokenizer) and answer ``brief`` through the file's own template (greedy, repeat penalty 1.1)."""
    from llama_cpp import Llama

    from aigc_core.finetune.causal_lm import _messages

    hf_template = _hf_template(tokenizer)
    hf_eos = tokenizer.eos_token_id
    notes: list[str] = []
    threads = _llama_threads()
    llama = Llama(model_path=str(gguf_file), n_ctx=2048, n_threads=threads, n_threads_batch=threads, verbose=False)
    try:
        gguf_template = (llama.metadata or {}).get("tokenizer.chat_template") or None
        if gguf_template:  # answer through the file's own template, as llama.cpp's server and Ollama do
            llama.chat_format = "chat_template.default"
        gguf_eos = int(llama.token_eos())
        if not hf_template:
            notes.append(
                "The version's tokenizer has no chat template: llama.cpp and Ollama fall back to a generic prompt "
                "format the model was not trained on. Train on a base model with a chat template."
            )
        elif gguf_template is None:
            notes.append("The GGUF file has no chat template although the tokenizer has one.")
        elif gguf_template != hf_template:
            notes.append("The GGUF file's chat template differs from the tokenizer's.")
        eos_text = tokenizer.eos_token or ""
        if hf_template and eos_text and eos_text not in hf_template:
            notes.append(f"The chat template does not write the eos token {eos_text!r} after a turn.")
        reply = llama.create_chat_completion(
            messages=_messages(brief, system_prompt),  # type: ignore[arg-type]
            max_tokens=max_tokens,
            temperature=0.0,
            repeat_penalty=1.1,
            seed=0,
        )
        choice = reply["choices"][0]  # type: ignore[index]
        text = str(choice["message"].get("content") or "")
        finish = str(choice.get("finish_reason") or "")
        gram = repeated_ngram(llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))
        repeated = llama.detokenize(list(gram), special=True).decode("utf-8", "replace") if gram else ""
    finally:
        llama.close()
    return RoundTripCheck(
        template_ok=bool(hf_template) and gguf_template == hf_template,
        eos_ok=hf_eos is not None and gguf_eos == int(hf_eos),
        stopped=finish == "stop",
        repeats=gram is not None,
        finish_reason=finish,
        sample=text,
        brief=brief,
        hf_eos_id=int(hf_eos) if hf_eos is not None else None,
        gguf_eos_id=gguf_eos,
        repeated=repeated,
        notes=notes,
    )


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------
@dataclass
class GGUFExport:
    """A GGUF file of a model version, and its round-trip check (None when llama.cpp is not installed)."""

    version_id: str
    outtype: str
    path: Path
    size_bytes: int
    sha256: str
    seconds: float
    created_at: str
    converter: str
    check: RoundTripCheck | None
    by: str = ""
    merged_adapter: bool = False

    @property
    def exists(self) -> bool:
        """True while the file is still there."""
        return self.path.is_file()

    def summary(self) -> str:
        """One line: the check's verdict, or why there is none."""
        if self.check is None:
            return "Not checked: llama-cpp-python is not installed, so the file was not loaded back."
        return self.check.summary()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (the version's ``meta["gguf"][outtype]`` and the job result)."""
        out = asdict(self)
        out["path"] = str(self.path)
        out["check"] = self.check.to_dict() if self.check is not None else None
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GGUFExport:
        """Inverse of :meth:`to_dict`."""
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in known}
        values["path"] = Path(values.get("path", ""))
        values["check"] = RoundTripCheck.from_dict(data["check"]) if data.get("check") else None
        return cls(**values)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "model"


def gguf_path_for(info: registry.ModelVersionInfo, outtype: str) -> Path:
    """``<version folder>/gguf/<name>.<outtype>.gguf``."""
    return Path(info.path) / "gguf" / f"{_slug(info.name)}.{outtype}.gguf"


def _exportable(version_id: str, actor: Actor | None) -> registry.ModelVersionInfo:
    """The version, when it is a language model the acting user may change (its owner or an admin)."""
    with session_scope() as s:
        registry._version_row(s, version_id, "change", actor)
    info = registry.get_version(version_id, actor=actor)
    if info.task != CAUSAL_LM_TASK:
        raise UserInputError(
            f"Model version {info.name!r} is a {info.task} model; GGUF export is for language models.",
            hint="Pick a brand-voice (text-generation) version.",
        )
    if not Path(info.path).is_dir():
        raise NotFoundError(f"The files of version {version_id} are missing ({info.path}).", hint="Delete it.")
    return info


def _hf_folder(info: registry.ModelVersionInfo, out: Path) -> bool:
    """A Hugging Face folder of the version in ``out`` for the converter: an adapter merged into its base with
    PEFT ``merge_and_unload`` and saved with the tokenizer and chat template, or links to the full weights.
    Returns True when an adapter was merged."""
    src = Path(info.path)
    out.mkdir(parents=True, exist_ok=True)
    if info.has_adapter:
        base = registry._base_dir_of(info)
        if base is None:
            raise registry._base_missing(info)
        from aigc_core.finetune.causal_lm import load_causal_lm

        model, tok = load_causal_lm(src, base, merge=True)
        model.save_pretrained(str(out), safe_serialization=True)
        tok.save_pretrained(str(out))
        return True
    for f in src.iterdir():
        if f.is_file() and f.name not in _NOT_MODEL:
            try:
                os.symlink(f.resolve(), out / f.name)
            except OSError:
                shutil.copy2(f, out / f.name)
    return False


def _record(info: registry.ModelVersionInfo, result: GGUFExport, actor: Actor | None) -> None:
    """Keep the export in the version's ``meta["gguf"]`` (one entry per type) and audit it."""
    with session_scope() as s:
        row = registry._version_row(s, info.id, "change", actor)
        meta = dict(row.meta or {})
        meta[META_KEY] = {**dict(meta.get(META_KEY) or {}), result.outtype: result.to_dict()}
        row.meta = meta
    record(
        current(actor),
        "model_version.export_gguf",
        "model_version",
        info.id,
        detail={"outtype": result.outtype, "ok": bool(result.check and result.check.ok), "path": str(result.path)},
    )


def export_gguf(
    version_id: str,
    *,
    outtype: str = "f16",
    brief: str = DEFAULT_BRIEF,
    check: bool = True,
    actor: Actor | None = None,
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> GGUFExport:
    """Convert a text-generation version (its owner or an admin) into ``<version>/gguf/<name>.<outtype>.gguf``
    with llama.cpp's converter, check the round trip when llama.cpp is installed, and record both on the version."""
    from transformers import AutoTokenizer

    if outtype not in OUTTYPES:
        raise UserInputError(f"Unknown GGUF type {outtype!r}.", hint=f"Use one of: {', '.join(OUTTYPES)}.")
    report = progress or (lambda _p, _m: None)
    info = _exportable(version_id, actor)
    script = require_converter()
    who = current(actor)
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="gguf-export-", dir=folder("cache")))
    try:
        report(0.05, "merging the adapter into its base model" if info.has_adapter else "preparing the model folder")
        hf_dir = work / "hf"
        merged = _hf_folder(info, hf_dir)
        report(0.3, f"converting to GGUF ({outtype}) with llama.cpp's converter")
        target = gguf_path_for(info, outtype)
        with atomic_path(target) as tmp:
            run_converter(script, hf_dir, tmp, outtype, log=log, should_stop=should_stop)
        seconds = time.perf_counter() - started
        result_check = None
        if check and llama_cpp_installed():
            report(0.8, "loading the GGUF back with llama.cpp and answering a brief")
            tok = AutoTokenizer.from_pretrained(str(hf_dir))
            system = str(info.meta.get("system_prompt") or "")
            result_check = check_round_trip(target, tok, brief=brief, system_prompt=system)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = GGUFExport(
        version_id=info.id,
        outtype=outtype,
        path=target,
        size_bytes=target.stat().st_size,
        sha256=file_sha256(target),
        seconds=round(seconds, 2),
        created_at=datetime.now(UTC).isoformat(),
        converter=converter_source(),
        check=result_check,
        by=who.name,
        merged_adapter=merged,
    )
    _record(info, result, actor)
    report(1.0, result.summary())
    return result


def exports_of(info: registry.ModelVersionInfo) -> list[GGUFExport]:
    """The GGUF files recorded on a version, one per type."""
    return [GGUFExport.from_dict(d) for d in (info.meta.get(META_KEY) or {}).values() if isinstance(d, dict)]


# --------------------------------------------------------------------------------------------
# The background job
# --------------------------------------------------------------------------------------------
class GGUFExportParams(BaseModel):
    """Export one model version as GGUF and check the round trip."""

    version_id: str = Field(..., min_length=1, description="The text-generation model version to export.")
    outtype: OutType = Field("f16", description="f16: 16-bit weights, as trained; q8_0: 8-bit, about half the size.")
    brief: str = Field(DEFAULT_BRIEF, min_length=1, max_length=2000, description="The brief the check answers.")


@job_kind(GGUF_KIND, params=GGUFExportParams, resource="cpu")
def run_gguf_export_job(ctx: JobContext, params: GGUFExportParams) -> dict[str, Any]:
    """Export a model version as GGUF for llama.cpp/Ollama and check its template and end-of-turn token."""
    if isinstance(params, dict):
        params = GGUFExportParams.model_validate(params)
    result = export_gguf(
        params.version_id, outtype=params.outtype, brief=params.brief,
        progress=ctx.report, log=ctx.log, should_stop=ctx.should_stop,
    )  # fmt: skip
    return {"version_id": result.version_id, "path": str(result.path), "summary": result.summary(),
            "export": result.to_dict()}  # fmt: skip


def submit_gguf_export(
    version_id: str, outtype: str = "f16", *, brief: str = DEFAULT_BRIEF, actor: Actor | None = None
) -> str:
    """Check the version and the converter, and queue the export as a background job; returns the job id."""
    from aigc_core import jobs

    if outtype not in OUTTYPES:
        raise UserInputError(f"Unknown GGUF type {outtype!r}.", hint=f"Use one of: {', '.join(OUTTYPES)}.")
    params = GGUFExportParams(version_id=version_id, outtype=outtype, brief=brief)
    _exportable(version_id, actor)
    require_converter()
    return str(jobs.submit(GGUF_KIND, params.model_dump(), actor=actor))


def export_job(job_id: str, *, actor: Actor | None = None) -> Any:
    """The export job (``aigc_core.jobs`` JobInfo) for the page's progress line."""
    from aigc_core import jobs

    return jobs.get(job_id, actor=actor)
