"""Build ``tweets_sample.csv`` (2,000 stratified tweets with a topic and demo replay timestamps).

Deterministic: run ``python assets/samples/build_sample.py [path/to/tweets_sentiment.csv]`` from the
repository root; the default input is ``../shared/data/tweets_sentiment.csv``. The timestamps are
ASSIGNED for the monitoring demo (the source tweets have none); see tweets_sample.LICENSE.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[1].parent / "shared" / "data" / "tweets_sentiment.csv"
N_ROWS = 2000
SEED = 20240501
START = pd.Timestamp("2026-01-01", tz="UTC")
DAYS = 30
SPIKE_DAYS = (17, 18, 19)  # a complaint spike about airlines on these days of the replay
TOPICS = {  # first match wins
    "airline": r"@(?:united|americanair|usairways|southwestair|jetblue|virginamerica|delta)\b|\bflight|\bairline",
    "self-driving": r"self[- ]?driving|driverless|autonomous",
    "deflategate": r"deflate|#patriots|brady|\bnfl\b",
    "apple": r"\bapple\b|@apple|iphone|\bipad|\bios\b|\bmac\b|itunes",
    "google": r"google|android|\bgmail|youtube",
}


def topic_of(text: pd.Series) -> pd.Series:
    """A topic per text from keyword rules (airline, apple, google, self-driving, deflategate, other)."""
    low = text.str.lower()
    out = pd.Series("other", index=text.index, dtype="str")
    done = pd.Series(False, index=text.index)
    for topic, pattern in TOPICS.items():
        hit = low.str.contains(pattern, regex=True) & ~done
        out[hit] = topic
        done |= hit
    return out


def build(source: Path) -> pd.DataFrame:
    """The sample frame."""
    df = pd.read_csv(source, encoding="utf-8")
    df = df.dropna(subset=["text", "sentiment"]).drop_duplicates(subset=["text"]).reset_index(drop=True)
    frac = N_ROWS / len(df)
    parts = [g.sample(n=round(len(g) * frac), random_state=SEED) for _, g in df.groupby("sentiment", sort=True)]
    sample = pd.concat(parts).sample(frac=1.0, random_state=SEED).head(N_ROWS).reset_index(drop=True)
    sample["topic"] = topic_of(sample["text"])
    rng = np.random.default_rng(SEED)
    day = rng.integers(0, DAYS, size=len(sample))
    spike = (sample["sentiment"] == "negative") & (sample["topic"] == "airline") & (rng.random(len(sample)) < 0.45)
    day[spike.to_numpy()] = rng.choice(SPIKE_DAYS, size=int(spike.sum()))
    seconds = rng.integers(6 * 3600, 23 * 3600, size=len(sample))
    sample["replay_time"] = START + pd.to_timedelta(day, unit="D") + pd.to_timedelta(seconds, unit="s")
    sample = sample.sort_values("replay_time", kind="stable").reset_index(drop=True)
    sample.insert(0, "id", [f"tw{i:04d}" for i in range(1, len(sample) + 1)])
    sample["replay_time"] = sample["replay_time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return sample[["id", "text", "sentiment", "confidence", "topic", "replay_time"]]


def main() -> None:
    """Write tweets_sample.csv beside this script."""
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE
    out = build(source)
    out.to_csv(HERE / "tweets_sample.csv", index=False, encoding="utf-8", lineterminator="\n")
    print(f"wrote {len(out)} rows; labels {out['sentiment'].value_counts().to_dict()}")
    print(f"topics {out['topic'].value_counts().to_dict()}")


if __name__ == "__main__":
    main()
