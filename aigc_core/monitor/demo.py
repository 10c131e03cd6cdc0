"""The demo stream: the shipped sample tweets replayed with assigned timestamps, streamed in as demo batches.

The sample has no real timestamps, so replay timestamps are assigned (with a planted complaint spike about
airlines); the scores are real. The first 60% of the replay is queued when the demo starts, the rest waits in
``demo_queue/`` and comes one batch per :func:`demo_next_batch`.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from aigc_core.errors import ConflictError, NotFoundError, UserInputError
from aigc_core.monitor.files import monitor_dir
from aigc_core.monitor.ingest import IngestReport
from aigc_core.monitor.store import MonitorInfo, append_batch, check_monitor, create_monitor, get_monitor
from aigc_core.storage import atomic_path
from aigc_core.store import Monitor, session_scope
from aigc_core.users.roles import Actor, require

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_TWEETS = REPO_ROOT / "assets" / "samples" / "tweets_sample.csv"
DEMO_NOTE = (
    "Demo stream: the sample tweets have no real timestamps. Replay timestamps were assigned for this demo "
    "(with a planted complaint spike about airlines); the sentiment scores are real. Press 'Next demo batch' "
    "to stream in the next part of the replay."
)
_TOPIC_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "airline",
        ("@united", "@southwestair", "@jetblue", "@americanair", "@usairways", "@virginamerica", "@delta", "flight"),
    ),
    ("apple", ("apple", "iphone", "ipad", "ios", "@apple", "itunes", "mac")),
    ("google", ("google", "android", "gmail", "youtube")),
    ("self-driving cars", ("self-driving", "driverless", "self driving", "autonomous")),
    ("deflategate", ("deflategate", "brady", "patriots", "goodell", "nfl")),
)


def sample_tweets_path() -> Path:
    """The shipped sample tweets (``assets/samples/tweets_sample.csv``)."""
    if SAMPLE_TWEETS.exists():
        return SAMPLE_TWEETS
    raise NotFoundError(
        "The sample tweets are not installed.",
        hint=f"Expected {SAMPLE_TWEETS.relative_to(REPO_ROOT)}; create a monitor from your own dataset instead.",
    )


def guess_topic(text: str) -> str:
    """A topic for a sample tweet from keyword rules (airlines, apple, google, ...), else 'other'."""
    low = str(text).lower()
    for topic, words in _TOPIC_RULES:
        if any(w in low for w in words):
            return topic
    return "other"


def demo_frame(n_rows: int = 1200, *, days: int = 14, seed: int = 0, now: datetime | None = None) -> pd.DataFrame:
    """Sample tweets with topics and replay timestamps (assigned when the sample has none), oldest first."""
    path = sample_tweets_path()
    df = pd.read_csv(path)
    if "text" not in df.columns:
        raise UserInputError("The sample tweets have no 'text' column.", hint=f"Check {path}.")
    rng = random.Random(seed)
    df = df.sample(n=min(n_rows, len(df)), random_state=seed).reset_index(drop=True)
    if "topic" not in df.columns:
        df["topic"] = [guess_topic(t) for t in df["text"]]
    if "id" not in df.columns:
        df.insert(0, "id", [f"tw{i:06d}" for i in range(len(df))])
    if "replay_time" not in df.columns:
        end = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0, tzinfo=None)
        start = end - timedelta(days=days)
        span = (end - start).total_seconds()
        times = [start + timedelta(seconds=rng.random() * span) for _ in range(len(df))]
        # Planted spike: negative airline complaints gathered into 8 hours two days before the end.
        label_col = "sentiment" if "sentiment" in df.columns else None
        if label_col is not None:
            spike_idx = [
                i for i in range(len(df)) if df.at[i, label_col] == "negative" and df.at[i, "topic"] == "airline"
            ]
            rng.shuffle(spike_idx)
            spike_start = end - timedelta(days=2)
            for i in spike_idx[: max(10, len(spike_idx) // 3)]:
                times[i] = spike_start + timedelta(seconds=rng.random() * 8 * 3600)
        df["replay_time"] = pd.Series(times).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    df = df.assign(_t=pd.to_datetime(df["replay_time"], utc=True, errors="coerce")).sort_values("_t")
    return df.drop(columns=["_t"]).reset_index(drop=True)


DEMO_NAME = "Demo: sample tweets"


def start_demo_stream(
    *,
    name: str = DEMO_NAME,
    n_rows: int = 2000,
    days: int = 14,
    batches: int = 4,
    model: str = "embedded",
    seed: int = 0,
    with_rules: bool = True,
    actor: Actor | None = None,
) -> tuple[MonitorInfo, IngestReport]:
    """Create the acting user's demo monitor: the first 60% of the replay is queued now, the rest comes as demo
    batches. When another user's monitor has the name, the user's name is added to it.

    ``with_rules`` adds two daily alert rules (share negative above 55%, negative volume z-score above 3).
    """
    who = require(actor, "create", what="monitors")
    if batches < 1:
        raise UserInputError("The demo needs at least one batch.", hint="Use 1 or more.")
    name = _demo_name(name, who)
    df = demo_frame(n_rows, days=days, seed=seed)
    first = max(1, int(len(df) * 0.6))
    mapping = {"text": "text", "timestamp": "replay_time", "topic": "topic", "id": "id"}
    info, report = create_monitor(
        name,
        mapping=mapping,
        frame=df.iloc[:first],
        model=model,
        meta={"demo": True, "demo_note": DEMO_NOTE},
        actor=who,
    )
    rest = df.iloc[first:]
    chunks = [c for c in np.array_split(np.arange(len(rest)), max(1, batches - 1)) if len(c)]
    queue = monitor_dir(info.id) / "demo_queue"
    queue.mkdir(exist_ok=True)
    for i, idx in enumerate(chunks):
        with atomic_path(queue / f"{i:04d}.parquet") as tmp:
            rest.iloc[idx].to_parquet(tmp, index=False)
    if with_rules:
        from aigc_core.monitor import alerts

        rule: dict[str, Any] = {"window": "1D", "min_volume": 30, "cooldown_s": 86400, "actor": who}
        alerts.create_rule(info.id, "share_negative", 0.55, **rule)
        alerts.create_rule(info.id, "zscore", 3.0, **rule)
    return get_monitor(info.id, actor=who), report


def _demo_name(name: str, who: Actor) -> str:
    """``name``, or ``name (user)`` when another user's monitor has it; ConflictError when the user's own has."""
    candidates = [name, f"{name} ({who.name})"]
    with session_scope() as s:
        for cand in candidates:
            row = s.scalars(select(Monitor).where(Monitor.name == cand)).first()
            if row is None:
                return cand
            if row.owner == who.name:
                break
    raise ConflictError(f"The monitor {cand!r} already exists.", hint="Open it, or delete it to restart the demo.")


def demo_batches_left(monitor_id: str, *, actor: Actor | None = None) -> int:
    """Demo batches of a monitor the acting user may see, not yet appended."""
    queue = monitor_dir(check_monitor(monitor_id, actor=actor)) / "demo_queue"
    return len(list(queue.glob("*.parquet"))) if queue.exists() else 0


def demo_next_batch(monitor_id: str, *, actor: Actor | None = None) -> IngestReport:
    """Append the next demo batch (queued for scoring; owner or admin)."""
    mid = check_monitor(monitor_id, "change", actor=actor)
    queue = monitor_dir(mid) / "demo_queue"
    files = sorted(queue.glob("*.parquet")) if queue.exists() else []
    if not files:
        raise UserInputError("The demo stream has no batches left.", hint="Delete the demo monitor to start again.")
    report = append_batch(mid, pd.read_parquet(files[0]), actor=actor)
    files[0].unlink()
    return report
