"""Names from the browser (or job parameters) never become paths outside the data dir: one helper,
``storage.safe_child``, sanitises them, and every engine place that writes or reads such a path uses it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from aigc_core import storage
from aigc_core.errors import UserInputError

HOSTILE = [
    "../../etc/passwd",
    "/etc/passwd",
    "C:\\Windows\\System32\\drivers\\etc\\hosts",
    "..",
    ".",
    "...",
    " .. / .. ",
    "",
    "a\x00b.csv",
    "a\nb\tc\x1b[31m.csv",
    "\u202egnp.exe",  # right-to-left override: shows as "exe.png"
    "x" * 5000 + ".csv",
    "é" * 400 + ".csv",
    "CON",
    "nul.txt",
    "LPT1.csv",
    ".hidden",
    "x" * 300,
    "name.",
    "a:b*c?.csv",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_stay_one_harmless_file_in_root(tmp_path: Path, name: str) -> None:
    root = tmp_path / "uploads"
    root.mkdir()
    path = storage.safe_child(root, name)
    assert path.parent == root.resolve()  # directly inside root: no traversal, no absolute path, no sub-folder
    leaf = path.name
    assert leaf and leaf not in (".", "..") and not leaf.startswith((".", " "))
    assert "\x00" not in leaf and "/" not in leaf and "\\" not in leaf
    assert all(c.isprintable() for c in leaf), repr(leaf)
    assert len(leaf.encode("utf-8")) <= storage.MAX_NAME_BYTES
    assert leaf.split(".")[0].upper() not in {"CON", "NUL", "LPT1"}
    path.write_bytes(b"ok")  # the file system accepts it
    assert path.read_bytes() == b"ok"


def test_normal_names_are_kept(tmp_path: Path) -> None:
    for name in ("products.csv", "my list (1).csv", "产品 清单.xlsx", "tweets_2024-05.jsonl", "report.v2.final.csv"):
        assert storage.safe_child(tmp_path, name) == tmp_path.resolve() / name
    assert storage.safe_name("ｆｕｌｌ.csv") == "full.csv"  # NFKC: full-width letters become plain ones
    assert storage.safe_name("x" * 5000 + ".csv").endswith(".csv")  # the extension survives the length cap
    assert storage.safe_name("../..", default="products.csv") == "products.csv"
    assert storage.safe_child(tmp_path, "job-1", "out.csv") == tmp_path.resolve() / "job-1" / "out.csv"


def test_symlinks_out_of_root_are_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    os.symlink(outside / "secret.txt", root / "link.txt")
    os.symlink(outside, root / "dir")
    with pytest.raises(UserInputError, match="outside"):
        storage.safe_child(root, "link.txt")
    with pytest.raises(UserInputError, match="outside"):
        storage.safe_child(root, "dir", "secret.txt")
    (root / "real.txt").write_text("fine")
    os.symlink(root / "real.txt", root / "inner.txt")  # a link that stays inside is fine
    assert storage.safe_child(root, "inner.txt") == (root / "real.txt").resolve()


def test_inside_refuses_paths_outside_root(tmp_path: Path) -> None:
    root = tmp_path / "uploads"
    root.mkdir()
    (root / "a.csv").write_text("x")
    assert storage.inside(root, root / "a.csv") == (root / "a.csv").resolve()
    for bad in ("/etc/passwd", root / ".." / "x.csv", root, tmp_path / "uploads2" / "a.csv"):
        with pytest.raises(UserInputError):
            storage.inside(root, bad)


# The engine places that turn a user's name into a path ------------------------------------------------------
CSV = b"Name,Channel\nBroken,billboard\n"  # one row whose channel is invalid: an error row, no model call


class _Ctx:
    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.lines: list[str] = []

    def report(self, progress: float, message: str = "") -> None:
        pass

    def log(self, line: str) -> None:
        self.lines.append(line)

    def should_stop(self) -> bool:
        return False


@pytest.mark.parametrize("name", ["../../../evil.csv", "ABSOLUTE", "..", "a\x00b.csv", "x" * 600 + ".csv"])
def test_copy_batch_upload_and_output_stay_in_their_folders(settings, tmp_path: Path, monkeypatch, name: str) -> None:
    from aigc_core.copy import batch
    from aigc_core.copy import lm as lm_mod

    name = str(tmp_path / "evil.csv") if name == "ABSOLUTE" else name
    uploads = storage.folder("uploads").resolve()
    saved = batch.save_upload(CSV, name)
    assert saved.parent == uploads and saved.read_bytes() == CSV
    monkeypatch.setattr(lm_mod, "load_language_model", lambda value=None, **kw: object())
    work = tmp_path / "job"
    work.mkdir()
    params = {"input_path": str(saved), "mapping": {"product": "Name", "channel": "Channel"}, "output_name": name}
    out = Path(batch.run_batch(_Ctx(work), params)["output"])
    assert out.parent == work.resolve() and out.is_file()
    assert [p for p in tmp_path.rglob("evil.csv") if p.resolve().parent != work.resolve()] == []


def test_copy_batch_reads_only_saved_uploads(settings, tmp_path: Path) -> None:
    from aigc_core.copy import batch

    elsewhere = tmp_path / "products.csv"
    elsewhere.write_bytes(CSV)
    for path in (str(elsewhere), "/etc/passwd", str(storage.folder("uploads") / ".." / "x.csv")):
        with pytest.raises(UserInputError, match="outside"):
            batch.run_batch(_Ctx(tmp_path), {"input_path": path, "mapping": {"product": "Name"}})


def test_image_batch_reads_only_stored_sources(settings, tmp_path: Path) -> None:
    from aigc_core.images.jobs import ImageBatchParams

    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"secret")
    with pytest.raises(UserInputError, match="outside"):
        ImageBatchParams(prompt="a cup", init_image_path=str(secret)).to_request()
    stored = storage.folder("uploads") / "img2img_0123456789abcdef.bin"
    stored.write_bytes(b"png")
    assert ImageBatchParams(prompt="a cup", init_image_path=str(stored)).to_request().init_image == b"png"


def test_image_source_digest_cannot_leave_the_sources_folder(settings, tmp_path: Path) -> None:
    from aigc_core.errors import NotFoundError
    from aigc_core.images import gallery

    (storage.folder("images").parent / "evil.bin").write_bytes(b"secret")  # <data>/evil.bin
    for digest in ("../../evil", "/etc/passwd", "..", ""):
        with pytest.raises(NotFoundError):
            gallery.load_source(digest)
    digest = gallery.save_source(b"source bytes")
    assert gallery.load_source(digest) == b"source bytes"


def test_dataset_upload_keeps_the_raw_file_in_its_folder(settings) -> None:
    import pandas as pd

    from aigc_core import data as D

    df = pd.DataFrame({"text": ["a", "b"]})
    for i, name in enumerate(["../../../evil.csv", "/etc/passwd", "..\\..\\x.csv", "z" * 400 + ".csv"]):
        v = D.import_dataframe(f"ds {i}", df, raw=b"text\na\nb\n", filename=name)
        raw: Any = Path(v.source["raw_path"])
        assert raw.parent == (storage.folder("uploads") / v.dataset_id).resolve() and raw.is_file()
        assert v.source["filename"] == name  # what the user uploaded is still recorded as they named it
