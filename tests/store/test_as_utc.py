"""``as_utc``: the one helper for "SQLite datetimes are naive UTC"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from aigc_core.store.db import session_scope
from aigc_core.store.models import BrandKit, as_utc


def test_none_stays_none() -> None:
    assert as_utc(None) is None


def test_a_naive_datetime_is_read_as_utc() -> None:
    naive = datetime(2024, 5, 1, 12, 30, 15, 123)
    out = as_utc(naive)
    assert out.tzinfo is UTC
    assert out.replace(tzinfo=None) == naive  # same wall clock, nothing shifted


def test_an_aware_datetime_is_kept_as_it_is() -> None:
    plus8 = datetime(2024, 5, 1, 20, 0, tzinfo=timezone(timedelta(hours=8)))
    out = as_utc(plus8)
    assert out is plus8 and out.utcoffset() == timedelta(hours=8)
    assert as_utc(datetime(2024, 5, 1, tzinfo=UTC)).tzinfo is UTC


def test_a_stored_datetime_comes_back_aware_and_equal(settings) -> None:
    at = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    with session_scope() as s:
        row = BrandKit(name="Acme", updated_at=at)
        s.add(row)
        s.flush()
        kit_id = row.id
    with session_scope() as s:
        back = as_utc(s.get(BrandKit, kit_id).updated_at)
    assert back == at and back.utcoffset() == timedelta(0)
