"""Fixtures for the Data tests: an initialised store in a fresh data dir."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture()
def store(data_dir: Path) -> Path:
    """A fresh data dir with the store's schema created."""
    from aigc_core.store import init_store

    init_store()
    return data_dir


@pytest.fixture()
def tweets_df() -> pd.DataFrame:
    """A small labelled text frame with messy texts, labels and timestamps."""
    return pd.DataFrame(
        {
            "text": [
                "RT @bob: Loving the new phone http://t.co/abc",
                "Terrible flight, lost my bag @united",
                "The service was ok I guess",
                "Great coffee and friendly staff!",
                "Worst support ever, never again",
                "Meh, it is fine",
                "Best purchase this year",
                "Broken on arrival, want a refund",
                "Nothing special about it",
                "Absolutely love it",
                "Really disappointed by the delay",
                "It arrived on time",
            ],
            "sentiment": ["Positive", "neg", "0", "pos", "negative", "neutral"] * 2,
            "created_at": [f"2024-03-{d:02d} 10:00" for d in range(1, 13)],
        }
    )
