"""Folder watching: a monitor appends every new file of a folder under the admin's watch roots as a batch.

Only admins set the watched folder (audited), and only under ``AIGC_WATCH_ROOTS``; every poll checks the
roots again, skips links leading outside them and files over the upload limit (reported, not read).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from aigc_core.errors import UserInputError
from aigc_core.monitor import ingest
from aigc_core.monitor.ingest import IngestReport
from aigc_core.monitor.store import MonitorInfo, append_batch, check_monitor, get_monitor, update_meta
from aigc_core.settings import get_settings
from aigc_core.users.audit import record
from aigc_core.users.roles import Actor, require

WATCH_SUFFIXES = (".csv", ".tsv", ".xlsx", ".json", ".jsonl", ".parquet")


def watch_roots() -> list[Path]:
    """The folders monitors may watch (``AIGC_WATCH_ROOTS``), resolved; the default inbox is created."""
    settings = get_settings()
    roots = settings.watch_root_paths
    if not settings.watch_roots.strip():
        for root in roots:
            root.mkdir(parents=True, exist_ok=True)
    return [r.resolve() for r in roots]


def _under_roots(path: Path, roots: list[Path]) -> bool:
    return any(path.is_relative_to(r) for r in roots)


def _outside_roots_error(folder: str | Path, roots: list[Path]) -> UserInputError:
    shown = ", ".join(str(r) for r in roots)
    return UserInputError(
        f"The folder {str(folder)!r} is outside the folders monitors may watch ({shown}).",
        hint="Use a folder under one of them; an admin can change them with the setting AIGC_WATCH_ROOTS.",
    )


def _allowed_folder(folder: str | Path) -> Path:
    """The resolved folder (symlinks followed; a relative path is taken under the first root) when it lies
    under a watch root; UserInputError otherwise."""
    roots = watch_roots()
    path = Path(folder).expanduser()
    if not path.is_absolute():
        path = roots[0] / path
    resolved = path.resolve()
    if not _under_roots(resolved, roots):
        raise _outside_roots_error(folder, roots)
    return resolved


def set_watch_folder(monitor_id: str, folder: str | Path | None, *, actor: Actor | None = None) -> MonitorInfo:
    """Set (or clear, with None/'') the folder whose new files are appended as batches by :func:`poll_folder`
    (admins only; audited).

    Only folders under the admin's watch roots (:func:`watch_roots`) are accepted.
    """
    mid = check_monitor(monitor_id, "read", actor=actor)
    who = require(actor, "admin", what="watched folders", kind="monitor", item_id=mid)
    if folder and str(folder).strip():
        path = _allowed_folder(str(folder).strip() if isinstance(folder, str) else folder)
        if not path.is_dir():
            raise UserInputError(f"The folder {str(folder)!r} does not exist.", hint="Give an existing folder path.")
        update_meta(mid, watch_folder=str(path))
    else:
        update_meta(mid, watch_folder="")
    record(who, "monitor.watch_folder", "monitor", mid, detail={"folder": str(folder or "")})
    return get_monitor(mid, actor=who)


def _skipped(name: str, reason: str) -> tuple[str, IngestReport]:
    return name, IngestReport(notes=[f"{name} was skipped: {reason}"], skipped=True)


def _read_capped(real: Path, limit: int) -> tuple[bytes | None, str]:
    """(content, '') of a checked regular file, or (None, reason) when it changed or grew over ``limit``."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(real, flags)
    except OSError:
        return None, "it cannot be read (it changed while being checked, or no permission)."
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None, "it changed while being checked."
        data = fh.read(limit + 1)
    if len(data) > limit:
        return None, f"it grew over the upload limit of {_mb(limit)} (AIGC_MAX_UPLOAD_MB)."
    return data, ""


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:,.1f} MB"


def poll_folder(monitor_id: str, *, actor: Actor | None = None) -> list[tuple[str, IngestReport]]:
    """Append every file of the watched folder not seen before (by name, size and modification time; owner or
    admin).

    The folder is checked against the watch roots again; links leading outside them and files over the upload
    limit are skipped (reported, not read, tried again on the next poll).
    """
    info = get_monitor(monitor_id, action="change", actor=actor)
    folder = info.meta.get("watch_folder") or ""
    if not folder:
        raise UserInputError("This monitor watches no folder.", hint="Set a folder to watch first.")
    roots = watch_roots()
    path = Path(folder).resolve()
    if not _under_roots(path, roots):
        raise _outside_roots_error(folder, roots)
    if not path.is_dir():
        raise UserInputError(f"The watched folder {folder!r} is gone.", hint="Set another folder.")
    limit = get_settings().max_upload_bytes
    seen = set(info.meta.get("watch_seen", []))
    out: list[tuple[str, IngestReport]] = []
    for entry in sorted(p for p in path.iterdir() if p.suffix.lower() in WATCH_SUFFIXES):
        real = entry.resolve()
        if not _under_roots(real, roots):
            out.append(_skipped(entry.name, "it is a link to a file outside the watched folders."))
            continue
        try:
            st = os.stat(real)
        except OSError:
            out.append(_skipped(entry.name, "it cannot be read (a broken link or no permission)."))
            continue
        if not stat.S_ISREG(st.st_mode):
            continue  # folders, pipes, devices
        stamp = f"{entry.name}|{st.st_size}|{st.st_mtime_ns}"
        if stamp in seen:
            continue
        if st.st_size > limit:
            reason = f"it is {_mb(st.st_size)}, over the upload limit of {_mb(limit)} (AIGC_MAX_UPLOAD_MB)."
            out.append(_skipped(entry.name, reason))
            continue
        data, reason = _read_capped(real, limit)
        if data is None:
            out.append(_skipped(entry.name, reason))
            continue
        report = append_batch(info.id, ingest.read_table(data, entry.name), actor=actor)
        report.notes.append(f"From {entry.name}.")
        seen.add(stamp)
        update_meta(info.id, watch_seen=sorted(seen)[-5000:])
        out.append((entry.name, report))
    return out
