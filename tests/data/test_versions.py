"""Versioned datasets: upload → clean → split → save → load by version, exports, validation, deletes."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from aigc_core import data as D
from aigc_core.errors import ConflictError, NotFoundError, UserInputError
from aigc_core.store import Job, ModelVersion, Monitor, session_scope


def _upload(tweets_df: pd.DataFrame, name: str = "tweets") -> D.VersionInfo:
    raw = tweets_df.to_csv(index=False).encode("utf-8-sig")
    res = D.read_file(raw, "tweets.csv")
    return D.import_dataframe(
        name, res.df, raw=raw, filename="tweets.csv", roles=D.infer_roles(res.df), source={"encoding": res.encoding}
    )


def test_round_trip(store: Path, tweets_df: pd.DataFrame) -> None:
    v1 = _upload(tweets_df)
    assert v1.version == 1 and v1.kind == "original" and v1.row_counts == {"total": 12}
    raw_path = Path(v1.source["raw_path"])
    assert raw_path.read_bytes() == tweets_df.to_csv(index=False).encode("utf-8-sig")  # untouched upload
    assert v1.roles == {"text": "text", "label": "sentiment", "timestamp": "created_at"}

    cleaned = D.clean(
        D.load_version(v1.id),
        D.Recipe(remove_rt=True, remove_urls=True, normalise_labels=True, parse_timestamps=True),
        D.Roles.from_dict(v1.roles),
    )
    v2 = D.save_version(v1.dataset_id, cleaned.df, kind="clean", parent_id=v1.id, roles=v1.roles, recipe=cleaned.recipe)
    assert v2.version == 2 and v2.parent_id == v1.id and v2.recipe["remove_urls"] is True
    assert D.Recipe.model_validate(v2.recipe).remove_urls

    sp = D.split(D.load_version(v2.id), label="sentiment", validation=0.25, test=0.25, seed=3)
    v3 = D.save_version(v1.dataset_id, kind="split", parent_id=v2.id, roles=v2.roles, splits=sp)
    assert v3.row_counts == {"total": 12, "train": 6, "validation": 3, "test": 3} and v3.splits == list(
        D.split.__globals__["SPLITS"]
    )
    test = D.load_version(v3.id, split="test")
    assert test["text"].tolist() == sp.frames["test"]["text"].tolist()
    whole = D.load_version(v3.id)
    assert len(whole) == 12 and set(whole["split"]) == {"train", "validation", "test"}
    assert str(whole["created_at"].dtype).startswith("datetime64")
    assert D.load_version(v1.id)["text"].iloc[0].startswith("RT @bob")  # the original is unchanged
    with pytest.raises(NotFoundError, match="no test split"):
        D.load_version(v2.id, split="test")

    assert [v.version for v in D.list_versions(v1.dataset_id)] == [3, 2, 1]
    ds = D.list_datasets()
    assert ds[0].name == "tweets" and ds[0].n_versions == 3 and ds[0].latest_version_id == v3.id
    csv = pd.read_csv(io.BytesIO(D.export_version(v3.id, "csv")))
    assert len(csv) == 12 and "split" in csv.columns
    assert len(pd.read_parquet(io.BytesIO(D.export_version(v3.id, "parquet")))) == 12
    assert (Path(v3.path) / "train.parquet").exists() and Path(v3.path).name == "v3"


def test_validation_at_save(store: Path, tweets_df: pd.DataFrame) -> None:
    ds = D.create_dataset("checks")
    with pytest.raises(UserInputError, match="No text column"):
        D.save_version(ds.id, tweets_df, roles={"label": "sentiment"})
    with pytest.raises(UserInputError, match="single class"):
        D.save_version(ds.id, tweets_df.assign(sentiment="pos"), roles={"text": "text", "label": "sentiment"})
    missing = tweets_df.copy()
    missing.loc[[0, 3], "sentiment"] = None
    with pytest.raises(UserInputError, match="2 row\\(s\\) have no label"):
        D.save_version(ds.id, missing, roles={"text": "text", "label": "sentiment"})
    bad_ts = tweets_df.copy()
    bad_ts.loc[1, "created_at"] = "yesterday-ish"
    with pytest.raises(UserInputError, match=r"1 timestamp\(s\).*yesterday-ish"):
        D.save_version(ds.id, bad_ts, roles={"text": "text", "timestamp": "created_at"})
    with pytest.raises(UserInputError, match="not in the data"):
        D.save_version(ds.id, tweets_df, roles={"text": "nope"})
    assert D.list_versions(ds.id) == []  # nothing half-saved
    with pytest.raises(ConflictError, match="already exists"):
        D.create_dataset("checks")
    with pytest.raises(UserInputError, match="needs a name"):
        D.create_dataset("  ")


def test_delete_refused_when_in_use(store: Path, tweets_df: pd.DataFrame) -> None:
    v1 = _upload(tweets_df)
    v2 = D.save_version(v1.dataset_id, tweets_df, parent_id=v1.id, roles={"text": "text"})
    with session_scope() as s:
        s.add(Job(kind="train_classifier", params={"dataset_version_id": v2.id}, status="succeeded"))
        s.add(ModelVersion(task="text-classification", name="clf-1", path="/x", dataset_version_id=v2.id))
        s.add(Monitor(name="mon", dataset_version_id=v2.id))
    used = D.usages(v2.id)
    assert len(used) == 3 and any("clf-1" in u for u in used) and any("monitor mon" in u for u in used)
    with pytest.raises(ConflictError, match="in use by") as info:
        D.delete_version(v2.id)
    assert "Confirm" in (info.value.hint or "")
    with pytest.raises(ConflictError, match="in use"):
        D.delete_dataset(v1.dataset_id)
    assert D.load_version(v2.id).shape[0] == 12  # still there

    D.delete_version(v2.id, force=True)
    with pytest.raises(NotFoundError):
        D.get_version(v2.id)
    assert not Path(v2.path).exists()
    with session_scope() as s:
        mv = s.query(ModelVersion).one()
        assert mv.dataset_version_id is None and mv.meta["dataset_version_ref"] == v2.id
    D.delete_version(v1.id)  # unused: no confirmation needed
    D.delete_dataset(v1.dataset_id)
    assert D.list_datasets() == []
    assert not Path(v1.source["raw_path"]).exists()


def test_samples_load(store: Path) -> None:
    v = D.load_sample("tweets")
    assert v.row_counts["total"] == 2000 and v.roles["timestamp"] == "replay_time"
    df = D.load_version(v.id)
    assert set(df["sentiment"]) == {"negative", "neutral", "positive"}
    assert set(df["topic"]) <= {"airline", "apple", "google", "self-driving", "deflategate", "other"}
    again = D.load_sample("tweets")
    assert again.dataset_name == "Sample: tweets with sentiment (2)"
    copy = D.load_sample("brand_copy")
    assert copy.row_counts["total"] == 30 and copy.roles["text"] == "copy"
    with pytest.raises(NotFoundError):
        D.load_sample("nope")


def test_sample_build_is_deterministic(tmp_path: Path) -> None:
    import importlib.util

    src = Path(__file__).resolve().parents[2] / "assets" / "samples" / "build_sample.py"
    spec = importlib.util.spec_from_file_location("build_sample", src)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    if not mod.DEFAULT_SOURCE.exists():
        pytest.skip("shared tweets file not present")
    built = mod.build(mod.DEFAULT_SOURCE)
    shipped = pd.read_csv(src.parent / "tweets_sample.csv")
    assert built["text"].tolist() == shipped["text"].tolist()
    assert built["replay_time"].tolist() == shipped["replay_time"].tolist()


def test_failed_write_leaves_nothing(store: Path, tweets_df: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    import aigc_core.data.versions as V

    v1 = _upload(tweets_df)

    def broken(df: pd.DataFrame) -> pd.DataFrame:
        raise OSError("disk full")

    monkeypatch.setattr(V, "_parquet_safe", broken)
    with pytest.raises(OSError, match="disk full"):
        D.save_version(v1.dataset_id, tweets_df, roles={"text": "text"})
    assert [v.version for v in D.list_versions(v1.dataset_id)] == [1]
    assert not (Path(v1.path).parent / "v2").exists()
    monkeypatch.undo()
    assert D.save_version(v1.dataset_id, tweets_df, roles={"text": "text"}).version == 2
