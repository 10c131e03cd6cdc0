"""Files under the data dir: well-known folders, safe names for what users name, and atomic writes."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from aigc_core.errors import UserInputError
from aigc_core.settings import Settings, get_settings

# Sub-folders of the data dir, one per kind of blob.
FOLDERS = ("datasets", "uploads", "images", "models", "cache", "jobs", "exports")


def data_path(*parts: str, settings: Settings | None = None) -> Path:
    """A path inside the data dir; its parent folder exists."""
    path = (settings or get_settings()).resolved_data_dir.joinpath(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def folder(name: str, settings: Settings | None = None) -> Path:
    """One of the data dir's well-known folders, created on first use."""
    if name not in FOLDERS:
        raise ValueError(f"unknown data folder {name!r}; known: {', '.join(FOLDERS)}")
    path = (settings or get_settings()).resolved_data_dir / name
    path.mkdir(parents=True, exist_ok=True)
    return path


# A user's file name is one path component: at most this many UTF-8 bytes (file systems allow 255; prefixes,
# suffixes and the ".name.XXXX.tmp" of atomic writes need the rest).
MAX_NAME_BYTES = 150
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
_UNSAFE_CHARS = re.compile(r'[<>:"|?*]')  # not allowed in Windows names (copies of the data dir travel)


def _truncate_utf8(text: str, limit: int) -> str:
    return text.encode("utf-8")[: max(limit, 0)].decode("utf-8", errors="ignore")


def safe_name(name: str, default: str = "file") -> str:
    """``name`` (e.g. a file name sent by the browser) as one harmless file name: its last component only,
    NFKC-normalised, without control or invisible characters, leading dots or characters Windows refuses, not a
    reserved Windows device name, and at most :data:`MAX_NAME_BYTES` bytes (its extension kept); ``default``
    when nothing is left."""
    text = unicodedata.normalize("NFKC", str(name or ""))
    text = re.split(r"[/\\]", text)[-1]  # the base name, whichever separator the client's system uses
    text = "".join(" " if c.isspace() else c for c in text if c.isspace() or unicodedata.category(c)[0] != "C")
    text = _UNSAFE_CHARS.sub("_", " ".join(text.split())).lstrip(". ").rstrip(". ")
    if not text:
        return default
    stem, dot, ext = text.rpartition(".")
    if not stem or len(ext) > 16:  # no extension: the whole name is the stem
        stem, dot, ext = text, "", ""
    if stem.split(".")[0].strip().upper() in _WINDOWS_RESERVED:
        stem = "_" + stem
    budget = MAX_NAME_BYTES - len((dot + ext).encode("utf-8"))
    if len(stem.encode("utf-8")) > budget:
        stem = _truncate_utf8(stem, budget).rstrip(". ") or "_"
    return stem + dot + ext


def safe_child(root: Path | str, *parts: str, default: str = "file") -> Path:
    """``root / part / …`` with every part made a :func:`safe_name`, resolved (symlinks followed); raises
    UserInputError when that is not inside ``root``."""
    if not parts:
        raise ValueError("safe_child needs at least one name below the root")
    base = Path(root).resolve()
    path = base.joinpath(*(safe_name(p, default) for p in parts)).resolve()
    return inside(base, path)


def inside(root: Path | str, path: Path | str) -> Path:
    """``path`` resolved (symlinks followed), when it lies below ``root``; else UserInputError."""
    base = Path(root).resolve()
    resolved = Path(path).resolve()
    if resolved == base or not resolved.is_relative_to(base):
        raise UserInputError(
            f"The path {str(path)!r} is outside {base.name!r}, where it must be.",
            hint="Use a plain file name (no folders, no '..'), or upload the file again.",
        )
    return resolved


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not supported on every platform/filesystem
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it is renamed over ``target``.

    On an exception the temporary file is removed and ``target`` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(target: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically (temp file + rename)."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def atomic_write_text(target: Path | str, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``target`` atomically."""
    return atomic_write_bytes(target, text.encode(encoding))


@contextlib.contextmanager
def atomic_dir(target: Path | str) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success it replaces ``target`` in one rename."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@functools.lru_cache(maxsize=32)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_sha256(path: Path | str) -> str:
    """Hex sha256 of a file, memoised by resolved path, size and modification time."""
    resolved = Path(path).resolve()
    st = resolved.stat()
    return _sha256_cached(str(resolved), st.st_size, st.st_mtime_ns)
