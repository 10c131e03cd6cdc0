"""CLI: python -m aigc_core.sentiment score ... (success, and a one-line error + exit code per bad input)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from aigc_core.sentiment import head as head_mod
from aigc_core.sentiment import scoring
from aigc_core.sentiment.__main__ import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _tiny_encoder(tiny_encoder_dir: Path, monkeypatch: pytest.MonkeyPatch):
    """Heads given by folder load onto the tiny encoder instead of the shipped MiniLM."""
    monkeypatch.setattr(head_mod, "encoder_dir", lambda: tiny_encoder_dir)
    scoring.clear_model_cache()
    yield
    scoring.clear_model_cache()


@pytest.fixture()
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "text": ["love great thanks happy", "worst lost bag hate", "", "meeting tomorrow weather"],
            "topic": ["a", "b", "a", "c"],
        }
    )


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_score_file_keeps_columns_and_adds_scores(tmp_path, frame, tiny_head_dir, capsys, suffix):
    src = tmp_path / f"in{suffix}"
    if suffix == ".csv":
        frame.to_csv(src, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(src, index=False)
    else:
        frame.to_json(src, orient="records", lines=True)
    out = tmp_path / "out.csv"
    rc = main(["score", str(src), "--text-column", "text", "--model", str(tiny_head_dir), "-o", str(out)])
    assert rc == 0, capsys.readouterr().err
    assert "1 empty skipped" in capsys.readouterr().err
    got = pd.read_csv(out)
    assert list(got.columns) == [
        "id",
        "text",
        "topic",
        "label",
        "score",
        "prob_negative",
        "prob_neutral",
        "prob_positive",
    ]
    assert got["id"].tolist() == [1, 2, 3, 4]
    assert got["label"].tolist()[:2] == ["positive", "negative"] and pd.isna(got.loc[2, "label"])
    assert got.loc[[0, 1, 3], ["prob_negative", "prob_neutral", "prob_positive"]].sum(axis=1).round(4).eq(1).all()


def test_label_map_option(tmp_path, frame, tiny_classifier_generic_dir, capsys):
    src, out = tmp_path / "in.csv", tmp_path / "out.parquet"
    frame.to_csv(src, index=False)
    args = ["score", str(src), "--model", str(tiny_classifier_generic_dir), "-o", str(out), "--batch-size", "2"]
    assert main(args) == 2
    assert "label mapping" in _one_line_error(capsys)
    assert not out.exists()
    assert main([*args, "--label-map", "LABEL_0=negative,LABEL_1=neutral,LABEL_2=positive"]) == 0
    assert {"label", "score", "prob_neutral"} <= set(pd.read_parquet(out).columns)


def test_missing_file(tmp_path, capsys):
    assert main(["score", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "o.csv")]) == 2
    assert "does not exist" in _one_line_error(capsys)


def test_unknown_column_lists_available(tmp_path, frame, tiny_head_dir, capsys):
    src = tmp_path / "in.csv"
    frame.to_csv(src, index=False)
    assert main(["score", str(src), "--text-column", "body", "--model", str(tiny_head_dir), "-o", "o.csv"]) == 2
    err = _one_line_error(capsys)
    assert "'body'" in err and "id, text, topic" in err


def test_unreadable_formats(tmp_path, capsys):
    bad = tmp_path / "in.parquet"
    bad.write_bytes(b"this is not parquet")
    assert main(["score", str(bad), "-o", str(tmp_path / "o.csv")]) == 2
    assert "not a readable Parquet file" in _one_line_error(capsys)
    odd = tmp_path / "in.xyz"
    odd.write_text("text\nhello\n")
    assert main(["score", str(odd), "-o", str(tmp_path / "o.csv")]) == 2
    assert "cannot be read" in _one_line_error(capsys)


def test_bad_output_format_and_batch_size(tmp_path, frame, tiny_head_dir, capsys):
    src = tmp_path / "in.csv"
    frame.to_csv(src, index=False)
    assert main(["score", str(src), "--model", str(tiny_head_dir), "-o", str(tmp_path / "o.doc")]) == 2
    assert "output format" in _one_line_error(capsys)
    assert main(["score", str(src), "--model", str(tiny_head_dir), "-o", "o.csv", "--batch-size", "0"]) == 2
    _one_line_error(capsys)


def test_model_not_found(tmp_path, frame, capsys):
    src = tmp_path / "in.csv"
    frame.to_csv(src, index=False)
    assert main(["score", str(src), "--model", str(tmp_path / "no-model"), "-o", str(tmp_path / "o.csv")]) == 3
    _one_line_error(capsys)
    assert main(["score", str(src), "--model", "org/not-in-cache", "-o", str(tmp_path / "o.csv")]) == 3
    _one_line_error(capsys)


def test_subprocess_exit_code_without_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "aigc_core.sentiment", "score", str(tmp_path / "missing.csv"), "-o", "x.csv"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: ") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
