"""Install llama.cpp's own Hugging Face -> GGUF converter from a llama-cpp-python source package.

Usage: python scripts/install_gguf_converter.py <llama_cpp_python-X.Y.Z.tar.gz> <dest> [<source label>]

Copies ``convert_hf_to_gguf.py``, its ``conversion/`` package, the ``gguf-py/`` it is written against (the gguf
wheel of the same version number on PyPI lacks parts of it) and llama.cpp's LICENSE from ``vendor/llama.cpp`` into
``dest`` (replacing it whole, in one rename), and writes ``SOURCE`` with the label (scripts/setup.sh: the pin).
"""

from __future__ import annotations

import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

VENDOR = "vendor/llama.cpp/"
WANTED = ("convert_hf_to_gguf.py", "LICENSE", "conversion/", "gguf-py/gguf/")


def _wanted(rel: str) -> bool:
    return any(rel == w or (w.endswith("/") and rel.startswith(w)) for w in WANTED) and "__pycache__" not in rel


def install(sdist: Path, dest: Path, source: str = "") -> Path:
    """Extract the converter from ``sdist`` into ``dest``; returns the converter script's path."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    tmp.chmod(0o755)
    try:
        with tarfile.open(sdist) as tar:
            members = []
            for member in tar.getmembers():
                head, _, rest = member.name.partition("/")
                if head and rest.startswith(VENDOR) and member.isfile() and _wanted(rest[len(VENDOR) :]):
                    member.name = rest[len(VENDOR) :]
                    members.append(member)
            tar.extractall(tmp, members=members, filter="data")
        script = tmp / "convert_hf_to_gguf.py"
        if not script.is_file() or not (tmp / "gguf-py" / "gguf" / "__init__.py").is_file():
            raise SystemExit(f"{sdist} holds no vendor/llama.cpp/convert_hf_to_gguf.py with its gguf-py")
        (tmp / "SOURCE").write_text((source or sdist.name) + "\n", encoding="utf-8")
        old = dest.with_name(f".{dest.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if dest.exists():
            os.replace(dest, old)
        os.replace(tmp, dest)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest / "convert_hf_to_gguf.py"


def main(argv: list[str]) -> int:
    """CLI entry point."""
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    path = install(Path(argv[0]), Path(argv[1]), argv[2] if len(argv) == 3 else "")
    print(f"llama.cpp's GGUF converter: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
