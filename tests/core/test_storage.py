"""Atomic writes under the data dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigc_core import storage


def test_atomic_write_replaces_whole_file(settings) -> None:
    target = storage.data_path("exports", "a.txt")
    storage.atomic_write_text(target, "first")
    storage.atomic_write_text(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["a.txt"]  # no temp files left


def test_failed_write_keeps_the_old_content(settings) -> None:
    target = storage.data_path("exports", "b.txt")
    storage.atomic_write_text(target, "saved")
    with pytest.raises(RuntimeError), storage.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "saved"
    assert [p.name for p in target.parent.iterdir()] == ["b.txt"]


def test_atomic_dir_swaps_folder_and_cleans_up_on_error(settings) -> None:
    target = storage.folder("models") / "m1"
    with storage.atomic_dir(target) as tmp:
        (tmp / "w.bin").write_bytes(b"1")
    with pytest.raises(ValueError), storage.atomic_dir(target) as tmp:
        (tmp / "w.bin").write_bytes(b"2")
        raise ValueError("boom")
    assert (target / "w.bin").read_bytes() == b"1"
    with storage.atomic_dir(target) as tmp:
        (tmp / "w.bin").write_bytes(b"3")
    assert (target / "w.bin").read_bytes() == b"3"
    assert sorted(p.name for p in target.parent.iterdir()) == ["m1"]


def test_unknown_folder_is_rejected(settings) -> None:
    with pytest.raises(ValueError, match="unknown data folder"):
        storage.folder("nope")


def test_folders_live_in_the_data_dir(settings, data_dir: Path) -> None:
    assert storage.folder("images").parent == data_dir.resolve()
