"""Watched folders: only under the admin's roots (AIGC_WATCH_ROOTS), links and big files are not read."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from aigc_core.errors import UserInputError
from aigc_core.monitor import files, ingest, scoring, store, watch
from aigc_core.settings import reset_settings

MAPPING = {"text": "body", "timestamp": "when", "id": "id"}


def _frame(n: int, start: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"w{i}" for i in range(start, start + n)],
            "when": [f"2026-03-01T{(i % 24):02d}:00:00Z" for i in range(start, start + n)],
            "body": [f"flight delayed #{i}" for i in range(start, start + n)],
        }
    )


@pytest.fixture()
def roots(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(a watch root set with AIGC_WATCH_ROOTS, a folder outside it with a data file)."""
    root = tmp_path / "watch-root"
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    _frame(3, start=900).to_csv(outside / "secret.csv", index=False)
    monkeypatch.setenv("AIGC_WATCH_ROOTS", str(root))
    reset_settings()
    return root.resolve(), outside.resolve()


@pytest.fixture()
def monitor_id(settings) -> str:
    info, _ = store.create_monitor("watch-security", mapping=MAPPING, frame=_frame(2))
    return info.id


def test_default_root_is_the_inbox_and_is_created(settings, monitor_id: str) -> None:
    inbox = settings.resolved_data_dir / "inbox"
    assert not inbox.exists()
    assert watch.watch_roots() == [inbox]
    assert inbox.is_dir()
    _frame(4, start=10).to_csv(inbox / "a.csv", index=False)
    watch.set_watch_folder(monitor_id, inbox)
    assert [name for name, _ in watch.poll_folder(monitor_id)] == ["a.csv"]


@pytest.mark.parametrize("folder", ["/etc", "/", "/tmp"])
def test_system_folders_are_refused(monitor_id: str, folder: str) -> None:
    with pytest.raises(UserInputError) as info:
        watch.set_watch_folder(monitor_id, folder)
    assert "AIGC_WATCH_ROOTS" in str(info.value) and str(watch.watch_roots()[0]) in str(info.value)
    assert store.get_monitor(monitor_id).meta.get("watch_folder", "") == ""


def test_folder_outside_the_roots_is_refused(monitor_id: str, roots: tuple[Path, Path]) -> None:
    root, outside = roots
    with pytest.raises(UserInputError, match="outside the folders monitors may watch") as info:
        watch.set_watch_folder(monitor_id, outside)
    assert str(root) in str(info.value) and "AIGC_WATCH_ROOTS" in str(info.value)


@pytest.mark.parametrize("trick", ["{root}/../outside", "{root}/sub/../../outside", "../outside", "sub/../../outside"])
def test_dot_dot_tricks_are_refused(monitor_id: str, roots: tuple[Path, Path], trick: str) -> None:
    root, _ = roots
    (root / "sub").mkdir()
    with pytest.raises(UserInputError, match="outside"):
        watch.set_watch_folder(monitor_id, trick.format(root=root))


def test_symlink_inside_the_root_to_a_folder_outside_is_refused(monitor_id: str, roots: tuple[Path, Path]) -> None:
    root, outside = roots
    (root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UserInputError, match="outside"):
        watch.set_watch_folder(monitor_id, root / "link")


def test_relative_folder_is_taken_under_the_first_root(monitor_id: str, roots: tuple[Path, Path]) -> None:
    root, _ = roots
    (root / "feeds").mkdir()
    assert watch.set_watch_folder(monitor_id, "feeds").meta["watch_folder"] == str(root / "feeds")


def test_poll_checks_the_roots_again(monitor_id: str, roots: tuple[Path, Path], monkeypatch, tmp_path) -> None:
    root, outside = roots
    feeds = root / "feeds"
    feeds.mkdir()
    watch.set_watch_folder(monitor_id, feeds)
    # The folder was replaced by a link leading outside.
    feeds.rename(root / "old-feeds")
    feeds.symlink_to(outside, target_is_directory=True)
    with pytest.raises(UserInputError, match="outside"):
        watch.poll_folder(monitor_id)
    # The admin narrowed the roots.
    feeds.unlink()
    (root / "old-feeds").rename(feeds)
    other = tmp_path / "other-root"
    other.mkdir()
    monkeypatch.setenv("AIGC_WATCH_ROOTS", str(other))
    reset_settings()
    with pytest.raises(UserInputError, match="AIGC_WATCH_ROOTS"):
        watch.poll_folder(monitor_id)
    assert scoring.pending_rows(monitor_id) == 2  # nothing was appended


def test_file_links_leading_outside_are_skipped(monitor_id: str, roots: tuple[Path, Path]) -> None:
    root, outside = roots
    _frame(4, start=10).to_csv(root / "inside.csv", index=False)
    (root / "leak.csv").symlink_to(outside / "secret.csv")
    (root / "alias.csv").symlink_to(root / "inside.csv")  # a link within the roots is fine
    watch.set_watch_folder(monitor_id, root)
    found = dict(watch.poll_folder(monitor_id))
    assert set(found) == {"alias.csv", "inside.csv", "leak.csv"}
    assert found["leak.csv"].n_kept == 0 and "outside the watched folders" in found["leak.csv"].summary()
    assert found["alias.csv"].n_kept == 4 and found["inside.csv"].n_duplicate_ids == 4  # same rows, read once
    assert scoring.pending_rows(monitor_id) == 2 + 4  # the secret rows never came in
    assert not any(
        str(r).startswith("w9") for p in files.pending_files(monitor_id) for r in pd.read_parquet(p)["row_id"]
    )


def test_file_over_the_upload_limit_is_skipped_without_reading(
    monitor_id: str, roots: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = roots
    monkeypatch.setenv("AIGC_MAX_UPLOAD_MB", "1")
    reset_settings()
    _frame(4, start=10).to_csv(root / "small.csv", index=False)
    big = root / "big.csv"
    with open(big, "wb") as fh:
        fh.write(b"id,when,body\n")
        fh.truncate(3 * 1024 * 1024)  # 3 MB (sparse)
    opened: list[str] = []
    parsed: list[str] = []
    real_read, real_parse = watch._read_capped, ingest.read_table
    monkeypatch.setattr(
        watch, "_read_capped", lambda path, limit: (opened.append(path.name), real_read(path, limit))[1]
    )
    monkeypatch.setattr(ingest, "read_table", lambda data, name: (parsed.append(name), real_parse(data, name))[1])
    watch.set_watch_folder(monitor_id, root)
    found = dict(watch.poll_folder(monitor_id))
    assert opened == ["small.csv"] and parsed == ["small.csv"]
    assert "over the upload limit" in found["big.csv"].summary() and found["big.csv"].n_kept == 0
    assert found["small.csv"].n_kept == 4
    # Skipped, not marked as seen: reported again until it is fixed; the small file is not appended twice.
    assert list(dict(watch.poll_folder(monitor_id))) == ["big.csv"]
    os.truncate(big, 0)
    _frame(2, start=50).to_csv(big, index=False)
    assert dict(watch.poll_folder(monitor_id))["big.csv"].n_kept == 2


def test_normal_folder_inside_the_root_still_ingests(monitor_id: str, roots: tuple[Path, Path]) -> None:
    root, _ = roots
    feeds = root / "feeds" / "twitter"
    feeds.mkdir(parents=True)
    watch.set_watch_folder(monitor_id, feeds)
    _frame(4, start=10).to_csv(feeds / "a.csv", index=False)
    _frame(3, start=20).to_parquet(feeds / "b.parquet", index=False)
    found = watch.poll_folder(monitor_id)
    assert [(n, r.n_kept) for n, r in found] == [("a.csv", 4), ("b.parquet", 3)]
    assert watch.poll_folder(monitor_id) == []
