"""Dashboard aggregates on a fixture with known answers."""

from __future__ import annotations

from datetime import datetime

import pytest

from aigc_core.errors import UserInputError
from aigc_core.monitor.aggregate import Filters, MonitorData
from tests.monitor.conftest import scored_frame

ROWS = [
    ("2026-01-01 08:00", "a", "negative", "my bag was lost"),
    ("2026-01-01 09:30", "a", "negative", "flight delayed again"),
    ("2026-01-01 10:00", "a", "positive", "great crew"),
    ("2026-01-01 23:59", "b", "neutral", "meeting tomorrow"),
    ("2026-01-02 12:00", "a", "positive", "love the app"),
    ("2026-01-02 13:00", "b", "negative", "terrible support"),
    ("2026-01-04 01:00", "a", "positive", "thanks"),
    ("2026-01-04 02:00", "a", "positive", "best service"),
    ("2026-01-04 03:00", "a", "positive", "awesome"),
    ("2026-01-04 04:00", "b", "negative", "refund please"),
]


@pytest.fixture()
def data() -> MonitorData:
    return MonitorData(scored_frame(ROWS))


def test_kpis_with_previous_period(data: MonitorData) -> None:
    k = data.kpis(Filters(start=datetime(2026, 1, 3), end=datetime(2026, 1, 5)))
    assert (k.volume, k.negative, k.positive) == (4, 1, 3)
    assert k.share_negative == pytest.approx(0.25)
    assert k.net == pytest.approx(50.0)
    assert k.prev_start == datetime(2026, 1, 1)
    assert k.prev_volume == 6
    assert k.prev_share_negative == pytest.approx(0.5)
    assert k.prev_net == pytest.approx(-100 / 6)
    assert k.volume_change == pytest.approx(-1 / 3)
    assert k.share_negative_change == pytest.approx(-25.0)
    assert k.net_change == pytest.approx(50 + 100 / 6)


def test_daily_series_fills_empty_days(data: MonitorData) -> None:
    s = data.series(Filters(), "day")
    assert [d.day for d in s["bucket"]] == [1, 2, 3, 4]
    assert s["volume"].tolist() == [4, 2, 0, 4]
    assert s["negative"].tolist() == [2, 1, 0, 1]
    assert s["positive"].tolist() == [1, 1, 0, 3]
    assert s["net"].iloc[0] == pytest.approx(-25.0)
    assert s["net"].iloc[1] == pytest.approx(0.0)
    assert s["net"].isna().iloc[2]
    assert s["share_negative"].iloc[3] == pytest.approx(0.25)


def test_topic_series_heatmap_and_filters(data: MonitorData) -> None:
    heat = data.heatmap(Filters(), "day", value="negative")
    assert list(heat.index) == ["a", "b"]  # by volume
    assert heat.loc["a"].tolist() == [2, 0, 0, 0]
    assert heat.loc["b"].tolist() == [0, 1, 0, 1]
    assert data.count(Filters(topics=("b",))) == 3
    assert data.count(Filters(labels=("positive",), topics=("a",))) == 5
    assert data.count(Filters(search="DELAYED")) == 1
    assert data.count(Filters(sources=("app",))) == 5
    hourly = data.series(Filters(start=datetime(2026, 1, 1), end=datetime(2026, 1, 2)), "hour")
    assert len(hourly) == 24 and hourly["volume"].sum() == 4
    weekly = data.series(Filters(), "week")
    assert weekly["volume"].sum() == 10 and weekly["bucket"].iloc[0] == datetime(2025, 12, 29)  # ISO Monday


def test_drill_down_most_negative_first(data: MonitorData) -> None:
    rows = data.drill_down(Filters(), datetime(2026, 1, 1), datetime(2026, 1, 2))
    assert len(rows) == 4
    assert rows["label"].tolist()[:2] == ["negative", "negative"]
    assert rows["prob_negative"].is_monotonic_decreasing


def test_empty_window_is_friendly(data: MonitorData) -> None:
    f = Filters(start=datetime(2027, 1, 1), end=datetime(2027, 1, 8))
    k = data.kpis(f)
    assert k.volume == 0 and k.share_negative is None and k.net is None
    o = data.overview(f, "day")
    assert o.series["volume"].sum() == 0 and o.drill.empty
    with pytest.raises(UserInputError):
        data.kpis(Filters(start=datetime(2026, 1, 5), end=datetime(2026, 1, 1)))
    with pytest.raises(UserInputError):
        data.series(Filters(), "fortnight")


def test_empty_monitor(tmp_path) -> None:
    d = MonitorData(tmp_path / "missing.parquet")
    assert d.n_rows == 0
    assert d.overview(Filters(), "day").kpis.volume == 0


@pytest.mark.parametrize(
    "f",
    [
        Filters(),
        Filters(start=datetime(2026, 1, 3), end=datetime(2026, 1, 9)),  # day-aligned: daily cube
        Filters(start=datetime(2026, 1, 3, 5), end=datetime(2026, 1, 9, 17)),  # hour-aligned: hourly cube
        Filters(start=datetime(2026, 1, 3, 5, 30), end=datetime(2026, 1, 9, 17, 45), topics=("t1",)),  # raw rows
        Filters(start=datetime(2026, 1, 2), end=datetime(2026, 1, 6), sources=("app",), labels=("negative",)),
        Filters(search="word3"),
    ],
)
def test_pre_aggregation_matches_raw_rows(f: Filters) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    n = 3000
    rows = [
        (
            (datetime(2026, 1, 1) + pd.Timedelta(seconds=int(s))).isoformat(),
            f"t{t}",
            ["negative", "neutral", "positive"][lab],
            f"word{w} text",
        )
        for s, t, lab, w in zip(
            rng.integers(0, 10 * 86400, n),
            rng.integers(0, 3, n),
            rng.integers(0, 3, n),
            rng.integers(0, 5, n),
            strict=True,
        )
    ]
    frame = scored_frame(rows)
    data = MonitorData(frame)
    start, end = data.resolve_range(f)
    m = pd.Series(True, index=frame.index)
    if f.topics:
        m &= frame["topic"].isin(f.topics)
    if f.sources:
        m &= frame["source"].isin(f.sources)
    if f.labels:
        m &= frame["label"].isin(f.labels)
    if f.search:
        m &= frame["text"].str.contains(f.search)
    cur = frame[m & (frame["ts"] >= start) & (frame["ts"] < end)]
    prev = frame[m & (frame["ts"] >= start - (end - start)) & (frame["ts"] < start)]
    k = data.kpis(f)
    assert (k.volume, k.negative, k.positive, k.prev_volume) == (
        len(cur),
        int((cur["label"] == "negative").sum()),
        int((cur["label"] == "positive").sum()),
        len(prev),
    )
    s = data.series(f, "day")
    assert s["volume"].sum() == len(cur)
    assert s["negative"].sum() == (cur["label"] == "negative").sum()
    t = data.series(f, "hour", by_topic=True)
    assert t["volume"].sum() == len(cur)
