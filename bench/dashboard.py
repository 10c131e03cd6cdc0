"""Dashboard speed: a filter change over 1,000,000 scored rows, our DuckDB engine vs a naive pandas baseline.

Synthesises scored rows (timestamps over 90 days, 6 topics, 4 sources, labels with probabilities),
writes them as a monitor's Parquet file, then times filter changes end to end — KPIs with the previous
period, the stacked series, per-topic series + heatmap, and the drill-down of the last bucket — with
``aigc_core.monitor.aggregate`` and with boolean masks + groupby on the full DataFrame, in the same run.

    python bench/dashboard.py            # 1,000,000 rows, 3 rounds of 6 filter changes
    python bench/dashboard.py --quick    # 1,000,000 rows, 1 round (under a minute)

Ends with ``RESULT dashboard_filter_s value=<median s> baseline=<median s> ratio=<b/v> target=1.0 PASS|FAIL``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ holds scripts named like stdlib modules (copy.py): keep this folder off the import path.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from aigc_core.monitor.aggregate import Filters, MonitorData  # noqa: E402

TOPICS = ["airlines", "apple", "google", "self-driving", "deflategate", "other"]
SOURCES = ["twitter", "reviews", "support", "forum"]
START = datetime(2026, 1, 1)
DAYS = 90
WORDS = [
    "flight",
    "delayed",
    "lost",
    "bag",
    "great",
    "crew",
    "refund",
    "app",
    "crashed",
    "love",
    "update",
    "battery",
    "support",
    "rude",
    "fast",
    "slow",
    "price",
    "fee",
    "seat",
    "gate",
    "phone",
    "screen",
    "charger",
    "service",
    "thanks",
    "awful",
    "okay",
    "meeting",
    "weather",
]


def synthesise(n: int, seed: int = 0) -> pd.DataFrame:
    """n scored rows with realistic shapes (a negative spike in one topic, a weekly rhythm)."""
    rng = np.random.default_rng(seed)
    secs = rng.integers(0, DAYS * 86400, n)
    topic = rng.choice(len(TOPICS), n, p=[0.3, 0.2, 0.15, 0.1, 0.1, 0.15])
    source = rng.choice(len(SOURCES), n, p=[0.5, 0.2, 0.2, 0.1])
    p_neg = np.where((topic == 0) & (secs // 86400 == 60), 0.7, 0.38)
    u = rng.random(n)
    label_idx = np.where(u < p_neg, 0, np.where(u < p_neg + 0.4, 1, 2))
    conf = rng.uniform(0.4, 0.99, n).astype("float32")
    rest = (1 - conf) / 2
    probs = np.repeat(rest[:, None], 3, axis=1)
    probs[np.arange(n), label_idx] = conf
    templates = np.array([f"{a} {b} {c}" for a, b, c in rng.choice(WORDS, (2000, 3))], dtype=object)
    text = templates[rng.integers(0, len(templates), n)]
    return pd.DataFrame(
        {
            "row_id": np.char.add("r", np.arange(n).astype(str)),
            "ts": pd.Timestamp(START) + pd.to_timedelta(secs, unit="s"),
            "text": text,
            "topic": np.array(TOPICS, dtype=object)[topic],
            "source": np.array(SOURCES, dtype=object)[source],
            "author": "",
            "label": np.array(["negative", "neutral", "positive"], dtype=object)[label_idx],
            "score": conf,
            "prob_negative": probs[:, 0],
            "prob_neutral": probs[:, 1],
            "prob_positive": probs[:, 2],
        }
    ).sort_values("ts", ignore_index=True)


FILTER_STATES: list[tuple[Filters, str]] = [
    (Filters(start=START, end=START + timedelta(days=DAYS)), "day"),
    (Filters(start=START + timedelta(days=30), end=START + timedelta(days=60), topics=("airlines",)), "day"),
    (Filters(start=START + timedelta(days=55), end=START + timedelta(days=62), sources=("twitter", "support")), "hour"),
    (Filters(topics=("apple", "google"), labels=("negative", "neutral")), "week"),
    (Filters(start=START + timedelta(days=10), end=START + timedelta(days=80), search="refund"), "day"),
    (Filters(start=START + timedelta(days=59), end=START + timedelta(days=61), topics=("airlines",)), "hour"),
]
_FREQ = {"hour": "h", "day": "D", "week": "W-MON"}


def pandas_overview(df: pd.DataFrame, f: Filters, freq: str) -> dict[str, object]:
    """The same outputs computed naively: masks over the full frame and groupby, every time."""
    lo = pd.Timestamp(f.start) if f.start else df["ts"].min()
    hi = pd.Timestamp(f.end) if f.end else df["ts"].max() + pd.Timedelta(microseconds=1)
    mask = pd.Series(True, index=df.index)
    if f.topics:
        mask &= df["topic"].isin(f.topics)
    if f.sources:
        mask &= df["source"].isin(f.sources)
    if f.labels:
        mask &= df["label"].isin(f.labels)
    if f.search:
        mask &= df["text"].str.lower().str.contains(f.search.lower(), regex=False)
    cur = df[mask & (df["ts"] >= lo) & (df["ts"] < hi)]
    prev = df[mask & (df["ts"] >= lo - (hi - lo)) & (df["ts"] < lo)]
    kpis = {
        "volume": len(cur),
        "share_negative": (cur["label"] == "negative").mean() if len(cur) else None,
        "net": ((cur["label"] == "positive").sum() - (cur["label"] == "negative").sum()) / max(len(cur), 1) * 100,
        "prev_volume": len(prev),
        "prev_net": ((prev["label"] == "positive").sum() - (prev["label"] == "negative").sum())
        / max(len(prev), 1)
        * 100,
    }
    bucket = cur["ts"].dt.to_period(_FREQ[freq]).dt.start_time
    series = cur.groupby([bucket, "label"]).size().unstack(fill_value=0)
    series["net"] = (series.get("positive", 0) - series.get("negative", 0)) / series.sum(axis=1) * 100
    topic_series = cur.groupby([bucket, "topic", "label"]).size().unstack(fill_value=0)
    heat = (topic_series.get("negative", 0) / topic_series.sum(axis=1)).unstack(0)
    last = bucket.max()
    drill = cur[bucket == last].sort_values("prob_negative", ascending=False).head(50) if len(cur) else cur
    return {"kpis": kpis, "series": series, "heat": heat, "drill": drill}


def main() -> int:
    from aigc_core.users.roles import SYSTEM, set_process_actor

    set_process_actor(SYSTEM)  # a bench is the operator's own run: it may load models from folders
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one round (under a minute)")
    args = ap.parse_args()
    rounds = 1 if args.quick else args.rounds

    t0 = time.perf_counter()
    df = synthesise(args.rows)
    print(f"synthesised {len(df):,} scored rows in {time.perf_counter() - t0:.1f}s")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.parquet"
        df.to_parquet(path, index=False)
        t0 = time.perf_counter()
        data = MonitorData(path)
        load_s = time.perf_counter() - t0
        print(f"engine load (once per new batch, not per filter change): {load_s:.2f}s")

        ours: list[float] = []
        base: list[float] = []
        data.overview(FILTER_STATES[0][0], FILTER_STATES[0][1])  # warm-up
        for r in range(rounds):
            for i, (f, freq) in enumerate(FILTER_STATES):
                t0 = time.perf_counter()
                o = data.overview(f, freq)
                ours.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                p = pandas_overview(df, f, freq)
                base.append(time.perf_counter() - t0)
                assert o.kpis.volume == p["kpis"]["volume"], (o.kpis.volume, p["kpis"]["volume"])
                assert o.kpis.prev_volume == p["kpis"]["prev_volume"]
                if r == 0:
                    print(
                        f"  filter {i + 1} ({freq:>4}): engine {ours[-1] * 1000:7.1f} ms  "
                        f"pandas {base[-1] * 1000:7.1f} ms  volume {o.kpis.volume:,}  "
                        f"parts {', '.join(f'{k} {v * 1000:.0f}' for k, v in o.timings.items())} ms"
                    )
        data.close()
    value = statistics.median(ours)
    baseline = statistics.median(base)
    worst = max(ours)
    ratio = baseline / value
    print(
        f"filter change, end to end (KPIs + series + topic heatmap + drill-down), {len(ours)} changes: "
        f"median {value:.3f}s, worst {worst:.3f}s; pandas baseline median {baseline:.3f}s; {ratio:.1f}x faster"
    )
    status = "PASS" if value < 1.0 else "FAIL"
    print(f"RESULT dashboard_filter_s value={value:.3f} baseline={baseline:.3f} ratio={ratio:.1f} target=1.0 {status}")
    return 0 if status == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
