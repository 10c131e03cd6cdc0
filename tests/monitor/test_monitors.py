"""Monitors: batch validation (timestamps, empty texts, duplicate ids), cached scoring of appended batches."""

from __future__ import annotations

import pandas as pd
import pytest

from aigc_core.errors import ConflictError, UserInputError
from aigc_core.monitor import choices, demo, ingest, scoring, sources, store, watch
from aigc_core.monitor.aggregate import Filters

MAPPING = {"text": "body", "timestamp": "when", "topic": "topic", "id": "id"}


def _frame(n: int, start: int = 0, day: str = "2026-03-01") -> pd.DataFrame:
    words = ["flight delayed", "great crew", "meeting at noon", "lost my bag"]
    return pd.DataFrame(
        {
            "id": [f"x{i}" for i in range(start, start + n)],
            "when": [f"{day}T{(i % 24):02d}:00:00Z" for i in range(start, start + n)],
            "body": [f"{words[i % 4]} #{i}" for i in range(start, start + n)],
            "topic": ["air" if i % 2 else "app" for i in range(start, start + n)],
            "extra": list(range(start, start + n)),
        }
    )


def test_parse_timestamps_mixed_zones_and_bad_values() -> None:
    s = pd.Series(["2026-01-01T10:00:00+02:00", "2026-01-01 08:00", "not a date", "", "2026-01-01T03:00:00-05:00"])
    ts, info = ingest.parse_timestamps(s)
    assert ts.iloc[0] == pd.Timestamp("2026-01-01 08:00")
    assert ts.iloc[1] == pd.Timestamp("2026-01-01 08:00")
    assert ts.iloc[4] == pd.Timestamp("2026-01-01 08:00")
    assert ts.isna().tolist() == [False, False, True, True, False]
    assert info["naive"] == 1 and info["offsets"] == ["+02:00", "-05:00"]
    epoch, _ = ingest.parse_timestamps(pd.Series([1767225600, 1767225600000]))
    assert epoch.tolist() == [pd.Timestamp("2026-01-01")] * 2


def test_prepare_batch_reports_bad_rows() -> None:
    df = pd.DataFrame(
        {
            "id": ["a", "b", "b", "c", "d", "e"],
            "when": [
                "2026-01-01T10:00:00+02:00",
                "2026-01-01 09:00",
                "2026-01-01 09:00",
                "yesterday-ish",
                "2026-01-02",
                "2026-01-02",
            ],
            "body": ["bad day", "great", "dup", "x", "   ", "fine"],
        }
    )
    out, rep = ingest.prepare_batch(
        df, ingest.ColumnMapping.from_dict({"text": "body", "timestamp": "when", "id": "id"})
    )
    assert rep.n_input == 6
    assert rep.n_bad_timestamps == 1 and rep.bad_timestamp_examples == [{"row": 4, "value": "yesterday-ish"}]
    assert rep.n_empty_texts == 1
    assert rep.n_duplicate_ids == 1 and rep.duplicate_id_examples == ["b"]
    assert rep.n_kept == 3 and out["row_id"].tolist() == ["a", "b", "e"]
    assert out["text"].tolist() == ["bad day", "great", "fine"]  # the first of the duplicates is kept
    assert out["ts"].iloc[0] == pd.Timestamp("2026-01-01 08:00")
    assert any("UTC" in n for n in rep.notes)
    assert "excluded" in rep.summary()


def test_mapping_errors() -> None:
    with pytest.raises(UserInputError, match="no timestamp"):
        ingest.ColumnMapping.from_dict({"text": "body"})
    with pytest.raises(UserInputError, match="lacks mapped columns"):
        ingest.prepare_batch(
            pd.DataFrame({"body": ["x"]}), ingest.ColumnMapping.from_dict({"text": "body", "timestamp": "t"})
        )


def test_append_scores_only_new_rows(settings, fake_scorer) -> None:
    info, rep = store.create_monitor("m1", mapping=MAPPING, frame=_frame(40))
    assert rep.n_kept == 40 and info.n_pending == 40
    with pytest.raises(ConflictError):
        store.create_monitor("m1", mapping=MAPPING, frame=_frame(2))
    run = scoring.score_pending(info.id)
    assert run.n_rows == 40 and run.n_new_scores == 40
    assert sum(len(c) for c in fake_scorer.calls) == 40
    # A new batch: 10 overlapping ids (dropped), 20 new rows of which 10 repeat texts already scored.
    batch = pd.concat([_frame(10, start=30), _frame(20, start=40)], ignore_index=True)
    batch.loc[10:19, "body"] = _frame(10)["body"].to_numpy()
    rep2 = store.append_batch(info.id, batch)
    assert rep2.n_duplicate_ids == 10 and rep2.n_kept == 20
    fake_scorer.calls.clear()
    run2 = scoring.score_pending(info.id)
    assert run2.n_new_scores == 10 and run2.n_cached == 10 and run2.n_rows == 60
    assert sum(len(c) for c in fake_scorer.calls) == 10  # only texts new to the cache reached the model
    rows = store.load_rows(info.id)
    assert len(rows) == 60 and rows["row_id"].is_unique
    assert {"extra", "text_hash", "label", "score", "prob_negative", "prob_positive"} <= set(rows.columns)
    assert rows.loc[rows["text"].str.startswith("lost my bag"), "label"].eq("negative").all()
    data = store.monitor_data(info.id)
    assert data.n_rows == 60 and data.count(Filters(topics=("air",))) == 30
    assert store.get_monitor(info.id).model_version == "fake-keywords-v1"


def test_start_scoring_inline_and_demo_stream(settings, fake_scorer, tmp_path, monkeypatch) -> None:
    sample = tmp_path / "tweets.csv"
    pd.DataFrame(
        {
            "text": [f"@united flight delayed {i}" if i % 3 == 0 else f"@apple great phone {i}" for i in range(90)],
            "sentiment": ["negative" if i % 3 == 0 else "positive" for i in range(90)],
        }
    ).to_csv(sample, index=False)
    monkeypatch.setattr(demo, "SAMPLE_TWEETS", sample)
    info, rep = demo.start_demo_stream(n_rows=90, days=7, batches=3)
    assert info.is_demo and "assigned" in info.meta["demo_note"]
    assert rep.n_kept == 54 and demo.demo_batches_left(info.id) == 2
    started = scoring.start_scoring(info.id)
    assert started.job_id is None and started.run is not None and started.run.n_rows == 54
    demo.demo_next_batch(info.id)
    assert scoring.start_scoring(info.id).run.n_rows == 72
    rows = store.load_rows(info.id)
    assert set(rows["topic"]) == {"airline", "apple"}
    assert rows["ts"].is_monotonic_increasing


def test_update_model_rescores_everything(settings, fake_scorer) -> None:
    info, _ = store.create_monitor("m2", mapping=MAPPING, frame=_frame(12))
    scoring.score_pending(info.id)
    info = store.update_model(info.id, "embedded", {"LABEL_0": "negative", "LABEL_1": "neutral", "LABEL_2": "positive"})
    assert info.n_rows == 0 and info.n_pending == 12 and info.label_map["LABEL_0"] == "negative"
    assert scoring.score_pending(info.id).n_rows == 12


def test_monitor_from_a_dataset_version(settings, fake_scorer) -> None:
    data_api = pytest.importorskip("aigc_core.data")
    df = pd.DataFrame(
        {
            "tweet": ["flight delayed", "great crew", "lost my bag", "thanks"],
            "posted": ["2026-01-01 10:00", "2026-01-01 11:00", "2026-01-02 09:00", "2026-01-02 10:00"],
            "topic": ["air", "air", "air", "app"],
        }
    )
    version = data_api.import_dataframe("tweets", df, roles={"text": "tweet", "timestamp": "posted", "topic": "topic"})
    roles = sources.dataset_roles(version.id)
    assert roles == {"text": "tweet", "timestamp": "posted", "topic": "topic"}
    assert any(vid == version.id for vid, _ in choices.dataset_versions())
    info, rep = store.create_monitor("from-dataset", mapping=roles, dataset_version_id=version.id)
    assert info.dataset_version_id == version.id and rep.n_kept == 4
    assert scoring.score_pending(info.id).n_rows == 4
    assert store.monitor_data(info.id).count(Filters(topics=("air",))) == 3


def test_watched_folder_appends_new_files_once(settings, fake_scorer) -> None:
    info, _ = store.create_monitor("watch", mapping=MAPPING, frame=_frame(5))
    with pytest.raises(UserInputError):
        watch.poll_folder(info.id)
    inbox = watch.watch_roots()[0]  # the default root, <data_dir>/inbox, created on first use
    assert inbox == settings.resolved_data_dir / "inbox" and inbox.is_dir()
    with pytest.raises(UserInputError):
        watch.set_watch_folder(info.id, inbox / "missing")
    watch.set_watch_folder(info.id, inbox)
    _frame(4, start=100).to_csv(inbox / "a.csv", index=False)
    (inbox / "notes.txt").write_text("ignored")
    found = watch.poll_folder(info.id)
    assert [name for name, _ in found] == ["a.csv"] and found[0][1].n_kept == 4
    assert watch.poll_folder(info.id) == []  # seen files are not appended twice
    _frame(3, start=200).to_parquet(inbox / "b.parquet", index=False)
    assert [name for name, _ in watch.poll_folder(info.id)] == ["b.parquet"]
    assert scoring.score_pending(info.id).n_rows == 12


def test_model_choices_and_mapping_guess(settings) -> None:
    from aigc_core.store import ModelVersion, session_scope

    assert choices.registry_classifiers() == []
    with session_scope() as s:
        s.add(ModelVersion(id="v1", task="text-classification", name="brand-sent", path="/x", promoted=True))
        s.add(ModelVersion(id="v2", task="text-generation", name="lm", path="/y"))
    assert choices.registry_classifiers() == [
        ("registry:promoted", "The promoted classifier (whichever is promoted)"),
        ("registry:v1", "brand-sent (promoted)"),
    ]
    assert ingest.guess_mapping(["Tweet", "created_at", "topic", "tweet_id"]) == {
        "text": "Tweet",
        "timestamp": "created_at",
        "topic": "topic",
        "id": "tweet_id",
    }


def test_batch_appended_during_scoring_stays_pending(settings, fake_scorer) -> None:
    info, _ = store.create_monitor("busy", mapping=MAPPING, frame=_frame(10))
    appended = []

    def progress(done: int, total: int) -> None:  # a batch arrives while the run scores
        if not appended:
            appended.append(store.append_batch(info.id, _frame(5, start=50)))

    run = scoring.score_pending(info.id, progress=progress)
    assert run.n_rows == 10 and appended[0].n_kept == 5
    assert scoring.pending_rows(info.id) == 5
    assert scoring.score_pending(info.id).n_rows == 15
