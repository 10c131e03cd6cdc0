"""Dashboard aggregates over a monitor's scored rows, computed by DuckDB in process.

The scored rows (one Parquet file per monitor) are loaded once into an in-memory DuckDB table;
every filter change is then a handful of GROUP BY queries (well under a second for 1,000,000 rows
on 2 cores). Timestamps are naive UTC throughout; results are returned as pandas frames.

Net sentiment is ``(positive - negative) / volume * 100`` (points, -100..100); share negative is a
fraction 0..1.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from aigc_core.errors import UserInputError

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
FREQS: dict[str, str] = {"hour": "hour", "day": "day", "week": "week"}
_PANDAS_FREQ = {"hour": "h", "day": "D", "week": "W-MON"}
_FREQ_DELTA = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
NO_VALUE = "(none)"  # topic/source/author of rows without one

# Columns the engine needs in the Parquet file (the rest are kept for export only).
CORE_COLUMNS = ("row_id", "ts", "text", "topic", "source", "author", "label", "score", *(f"prob_{x}" for x in LABELS))


@dataclass(frozen=True)
class Filters:
    """What the dashboard shows: a date range [start, end) in UTC and optional topic/source/label/text filters."""

    start: datetime | None = None
    end: datetime | None = None
    topics: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    search: str = ""

    def with_range(self, start: datetime | None, end: datetime | None) -> Filters:
        """The same filters over another date range."""
        return Filters(start, end, self.topics, self.sources, self.labels, self.search)


@dataclass
class Kpis:
    """Volume, share negative and net sentiment of the period, and of the previous period of equal length."""

    volume: int
    negative: int
    positive: int
    share_negative: float | None
    net: float | None
    prev_volume: int
    prev_share_negative: float | None
    prev_net: float | None
    start: datetime
    end: datetime
    prev_start: datetime

    @property
    def volume_change(self) -> float | None:
        """Relative change of the volume vs the previous period (0.25 = +25%), None without a previous volume."""
        return None if not self.prev_volume else (self.volume - self.prev_volume) / self.prev_volume

    @property
    def share_negative_change(self) -> float | None:
        """Change of share negative in percentage points."""
        if self.share_negative is None or self.prev_share_negative is None:
            return None
        return (self.share_negative - self.prev_share_negative) * 100.0

    @property
    def net_change(self) -> float | None:
        """Change of net sentiment in points."""
        if self.net is None or self.prev_net is None:
            return None
        return self.net - self.prev_net


@dataclass
class Overview:
    """Everything the dashboard draws for one filter state."""

    kpis: Kpis
    series: pd.DataFrame
    topic_series: pd.DataFrame
    heatmap: pd.DataFrame
    drill: pd.DataFrame
    freq: str
    timings: dict[str, float] = field(default_factory=dict)


def _sql_list(values: tuple[str, ...]) -> str:
    return ", ".join("?" for _ in values)


class MonitorData:
    """An in-memory DuckDB table of one monitor's scored rows, with the dashboard's queries."""

    def __init__(self, source: Path | str | pd.DataFrame) -> None:
        import duckdb

        self._con = duckdb.connect(":memory:")
        self._con.execute("SET TimeZone='UTC'")
        self._lock = threading.RLock()
        self._hit_tables: dict[tuple[str, ...], str] = {}
        self._hit_seq = 0
        if isinstance(source, pd.DataFrame):
            frame = _ensure_core(source)
            self._con.register("src_frame", frame)
            src = "src_frame"
        else:
            path = Path(source)
            if not path.exists():
                frame = _ensure_core(pd.DataFrame())
                self._con.register("src_frame", frame)
                src = "src_frame"
            else:
                src = f"read_parquet('{_sql_path(path)}', union_by_name=true)"
        probs = ", ".join(f"CAST(prob_{x} AS FLOAT) AS prob_{x}" for x in LABELS)
        self._con.execute(
            f"""CREATE TABLE r AS SELECT CAST(row_id AS VARCHAR) AS row_id, CAST(ts AS TIMESTAMP) AS ts,
                CAST(text AS VARCHAR) AS text, lower(CAST(text AS VARCHAR)) AS text_lc,
                coalesce(CAST(topic AS VARCHAR), '{NO_VALUE}') AS topic,
                coalesce(CAST(source AS VARCHAR), '{NO_VALUE}') AS source,
                coalesce(CAST(author AS VARCHAR), '') AS author,
                CAST(label AS VARCHAR) AS label, CAST(score AS FLOAT) AS score, {probs}
                FROM {src} WHERE ts IS NOT NULL AND label IS NOT NULL ORDER BY ts"""
        )
        if isinstance(source, pd.DataFrame) or not Path(source).exists():
            self._con.unregister("src_frame")
        # Pre-aggregation: counts per hour x topic x source x label. Filter changes without a text search and
        # with hour-aligned bounds (the page's dates) read this small table instead of every row.
        self._con.execute(
            """CREATE TABLE cube AS SELECT date_trunc('hour', ts) AS ts, topic, source, label, count(*) AS n
               FROM r GROUP BY ALL ORDER BY ts"""
        )
        self._con.execute(
            """CREATE TABLE cube_day AS SELECT date_trunc('day', ts) AS ts, topic, source, label, sum(n) AS n
               FROM cube GROUP BY ALL ORDER BY ts"""
        )
        self.n_rows: int = self._scalar("SELECT count(*) FROM r")
        bounds = self._con.execute("SELECT min(ts), max(ts) FROM r").fetchone()
        assert bounds is not None  # an aggregate without GROUP BY always returns one row
        lo, hi = bounds
        self.min_ts: datetime | None = lo
        self.max_ts: datetime | None = hi

    # -- plumbing --------------------------------------------------------------------------
    def _scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        with self._lock:
            row = self._con.execute(sql, params or []).fetchone()
        assert row is not None, sql  # only used for aggregates, which return one row
        return row[0]

    def _df(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        with self._lock:
            return self._con.execute(sql, params or []).df()

    def close(self) -> None:
        """Release the DuckDB connection."""
        self._con.close()

    def _hits(self, search: str) -> str:
        """A temp table of the rows containing every word of ``search`` (built once per search, a few kept)."""
        words = tuple(sorted(set(search.lower().split())))
        with self._lock:
            name = self._hit_tables.pop(words, None)
            if name is None:
                self._hit_seq += 1
                name = f"hits_{self._hit_seq}"
                conds = " AND ".join("contains(text_lc, ?)" for _ in words)
                self._con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM r WHERE {conds} ORDER BY ts", list(words))
            self._hit_tables[words] = name  # most recent last
            while len(self._hit_tables) > 16:
                old = self._hit_tables.pop(next(iter(self._hit_tables)))
                self._con.execute(f"DROP TABLE IF EXISTS {old}")
            return name

    def _rows_table(self, f: Filters) -> str:
        return self._hits(f.search) if f.search.strip() else "r"

    def _table(self, f: Filters, *bounds: datetime | None, unit: str = "day") -> tuple[str, str]:
        """(table, count expression): the daily or hourly cube when it answers exactly, else the (matching) rows."""
        if f.search.strip():
            return self._hits(f.search), "count(*)"
        if any(b is not None and b != _hour(b) for b in bounds):
            return "r", "count(*)"
        if unit != "hour" and all(b is None or b.hour == 0 for b in bounds):
            return "cube_day", "sum(n)"
        return "cube", "sum(n)"

    def _where(self, f: Filters, *, with_range: bool = True, with_labels: bool = True) -> tuple[str, list[Any]]:
        parts: list[str] = ["TRUE"]
        params: list[Any] = []
        if with_range and f.start is not None:
            parts.append("ts >= ?")
            params.append(_naive(f.start))
        if with_range and f.end is not None:
            parts.append("ts < ?")
            params.append(_naive(f.end))
        if f.topics:
            parts.append(f"topic IN ({_sql_list(f.topics)})")
            params.extend(f.topics)
        if f.sources:
            parts.append(f"source IN ({_sql_list(f.sources)})")
            params.extend(f.sources)
        if with_labels and f.labels:
            parts.append(f"label IN ({_sql_list(f.labels)})")
            params.extend(f.labels)
        if f.search.strip():
            for word in f.search.lower().split():
                parts.append("contains(text_lc, ?)")
                params.append(word)
        return " AND ".join(parts), params

    # -- facets ------------------------------------------------------------------------------
    def values(self, column: str) -> list[str]:
        """Distinct values of ``topic`` or ``source`` by volume, largest first."""
        if column not in {"topic", "source"}:
            raise ValueError(column)
        return self._df(f"SELECT {column} AS v, count(*) AS n FROM r GROUP BY 1 ORDER BY n DESC, v")["v"].tolist()

    def resolve_range(self, f: Filters) -> tuple[datetime, datetime]:
        """The filter's [start, end), defaulting to the data's range (end just after the last row)."""
        if self.min_ts is None or self.max_ts is None:
            now = datetime(2000, 1, 1)
            return _naive(f.start) or now, _naive(f.end) or now
        start = _naive(f.start) or _hour(self.min_ts)
        end = _naive(f.end) or (_hour(self.max_ts) + timedelta(hours=1))
        if end <= start:
            raise UserInputError("The end of the date range is not after its start.", hint="Pick a later end date.")
        return start, end

    # -- KPIs --------------------------------------------------------------------------------
    def kpis(self, f: Filters) -> Kpis:
        """KPIs of the filtered period and of the previous period of equal length."""
        start, end = self.resolve_range(f)
        prev_start = start - (end - start)
        where, params = self._where(f, with_range=False)
        table, n = self._table(f, start, end, prev_start)
        sql = f"""SELECT
            {n} FILTER (WHERE ts >= ?) AS vol,
            {n} FILTER (WHERE ts >= ? AND label = 'negative') AS neg,
            {n} FILTER (WHERE ts >= ? AND label = 'positive') AS pos,
            {n} FILTER (WHERE ts < ?) AS pvol,
            {n} FILTER (WHERE ts < ? AND label = 'negative') AS pneg,
            {n} FILTER (WHERE ts < ? AND label = 'positive') AS ppos
            FROM {table} WHERE ts >= ? AND ts < ? AND {where}"""
        with self._lock:
            row = self._con.execute(
                sql, [start, start, start, start, start, start, prev_start, end, *params]
            ).fetchone()
        assert row is not None  # an aggregate without GROUP BY always returns one row
        vol, neg, pos, pvol, pneg, ppos = (int(x or 0) for x in row)
        return Kpis(
            volume=vol,
            negative=neg,
            positive=pos,
            share_negative=neg / vol if vol else None,
            net=(pos - neg) / vol * 100.0 if vol else None,
            prev_volume=pvol,
            prev_share_negative=pneg / pvol if pvol else None,
            prev_net=(ppos - pneg) / pvol * 100.0 if pvol else None,
            start=start,
            end=end,
            prev_start=prev_start,
        )

    # -- time series -------------------------------------------------------------------------
    def series(self, f: Filters, freq: str = "day", *, by_topic: bool = False) -> pd.DataFrame:
        """Counts per label per time bucket (and per topic), with volume, share negative and net sentiment.

        Columns: ``bucket`` [``topic``] ``negative neutral positive volume share_negative net``;
        buckets without rows inside the range are filled with zeros.
        """
        unit = _unit(freq)
        start, end = self.resolve_range(f)
        where, params = self._where(f)
        group = "bucket, topic" if by_topic else "bucket"
        table, n = self._table(f, _naive(f.start), _naive(f.end), unit=unit)
        sql = f"""SELECT date_trunc('{unit}', ts) AS bucket{", topic" if by_topic else ""},
            coalesce({n} FILTER (WHERE label = 'negative'), 0) AS negative,
            coalesce({n} FILTER (WHERE label = 'neutral'), 0) AS neutral,
            coalesce({n} FILTER (WHERE label = 'positive'), 0) AS positive
            FROM {table} WHERE {where} GROUP BY {group} ORDER BY {group}"""
        df = self._df(sql, params)
        buckets = pd.date_range(
            _floor(start, unit), _floor(end - timedelta(microseconds=1), unit), freq=_PANDAS_FREQ[unit]
        )
        if by_topic:
            topics = list(f.topics) if f.topics else sorted(df["topic"].unique().tolist()) if len(df) else []
            index = pd.MultiIndex.from_product([buckets, topics], names=["bucket", "topic"])
            df = df.set_index(["bucket", "topic"]).reindex(index, fill_value=0).reset_index()
        else:
            df = df.set_index("bucket").reindex(buckets, fill_value=0).rename_axis("bucket").reset_index()
        for col in LABELS:
            df[col] = df[col].astype("int64")
        df["volume"] = df["negative"] + df["neutral"] + df["positive"]
        vol = df["volume"].where(df["volume"] > 0)
        df["share_negative"] = df["negative"] / vol
        df["net"] = (df["positive"] - df["negative"]) / vol * 100.0
        return df

    def heatmap(
        self, f: Filters, freq: str = "day", *, value: str = "share_negative", topic_series: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """Topic x time matrix of ``share_negative``, ``net`` or ``volume`` (rows: topics by volume)."""
        if value not in {"share_negative", "net", "volume", "negative"}:
            raise UserInputError(f"Unknown heatmap value {value!r}.", hint="Use share_negative, net or volume.")
        ts = topic_series if topic_series is not None else self.series(f, freq, by_topic=True)
        if ts.empty:
            return pd.DataFrame()
        order = ts.groupby("topic")["volume"].sum().sort_values(ascending=False).index
        return ts.pivot(index="topic", columns="bucket", values=value).reindex(order)

    # -- drill-down --------------------------------------------------------------------------
    def drill_down(
        self, f: Filters, start: datetime | None = None, end: datetime | None = None, *, limit: int = 200
    ) -> pd.DataFrame:
        """The texts behind a period (default: the filter's range), most negative first, with their scores."""
        g = f.with_range(start or f.start, end or f.end)
        where, params = self._where(g)
        probs = ", ".join(f"prob_{x}" for x in LABELS)
        src = self._rows_table(g)
        sql = f"""SELECT row_id, ts, topic, source, author, text, label, score, {probs} FROM {src} WHERE {where}
            ORDER BY prob_negative DESC NULLS LAST, ts DESC LIMIT {int(limit)}"""
        return self._df(sql, params)

    def count(self, f: Filters) -> int:
        """Rows matching the filters."""
        where, params = self._where(f)
        table, n = self._table(f, _naive(f.start), _naive(f.end))
        return int(self._scalar(f"SELECT coalesce({n}, 0) FROM {table} WHERE {where}", params))

    def rows(self, f: Filters, *, columns: tuple[str, ...] | None = None, limit: int | None = None) -> pd.DataFrame:
        """The filtered rows, oldest first."""
        where, params = self._where(f)
        cols = ", ".join(columns) if columns else "* EXCLUDE (text_lc)"
        lim = f" LIMIT {int(limit)}" if limit else ""
        return self._df(f"SELECT {cols} FROM {self._rows_table(f)} WHERE {where} ORDER BY ts{lim}", params)

    # -- everything at once -----------------------------------------------------------------------
    def overview(
        self, f: Filters, freq: str = "day", *, heat_value: str = "share_negative", drill_limit: int = 50
    ) -> Overview:
        """KPIs, series, per-topic series, heatmap and the most negative rows of the last bucket."""
        import time

        t = {}
        t0 = time.perf_counter()
        kpis = self.kpis(f)
        t["kpis"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        series = self.series(f, freq)
        t["series"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        topic_series = self.series(f, freq, by_topic=True)
        heat = self.heatmap(f, freq, value=heat_value, topic_series=topic_series)
        t["topics"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        drill = pd.DataFrame()
        nonempty = series[series["volume"] > 0]
        if len(nonempty):
            b = nonempty["bucket"].iloc[-1].to_pydatetime()
            drill = self.drill_down(f, b, b + _FREQ_DELTA[_unit(freq)], limit=drill_limit)
        t["drill"] = time.perf_counter() - t0
        return Overview(kpis, series, topic_series, heat, drill, freq, t)


def bucket_bounds(bucket: datetime | pd.Timestamp, freq: str) -> tuple[datetime, datetime]:
    """[start, end) of the time bucket that starts at ``bucket``."""
    b = pd.Timestamp(bucket).to_pydatetime()
    b = _naive(b)
    assert b is not None
    return b, b + _FREQ_DELTA[_unit(freq)]


def _unit(freq: str) -> str:
    key = (freq or "").strip().lower()
    aliases = {"h": "hour", "hourly": "hour", "d": "day", "daily": "day", "w": "week", "weekly": "week"}
    key = aliases.get(key, key)
    if key not in FREQS:
        raise UserInputError(f"Unknown time resolution {freq!r}.", hint="Use hour, day or week.")
    return key


def _floor(ts: datetime, unit: str) -> pd.Timestamp:
    t = pd.Timestamp(ts)
    if unit == "week":  # ISO weeks start on Monday, like DuckDB's date_trunc('week')
        day = t.floor("D")
        return day - pd.Timedelta(days=day.weekday())
    return t.floor(_PANDAS_FREQ[unit])


def _hour(ts: datetime) -> datetime:
    return ts.replace(minute=0, second=0, microsecond=0)


def _naive(ts: datetime | pd.Timestamp | None) -> datetime | None:
    """A naive UTC datetime (aware values are converted to UTC first)."""
    if ts is None:
        return None
    t = pd.Timestamp(ts)
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    return t.to_pydatetime()


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _ensure_core(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame with every core column (empty ones added), ts as naive UTC."""
    out = frame.copy()
    for col in CORE_COLUMNS:
        if col not in out.columns:
            out[col] = pd.Series(
                [None] * len(out), dtype="float64" if col.startswith("prob_") or col == "score" else "object"
            )
    if len(out) == 0:
        out["ts"] = pd.Series([], dtype="datetime64[us]")
    elif getattr(out["ts"].dtype, "tz", None) is not None:
        out["ts"] = out["ts"].dt.tz_convert("UTC").dt.tz_localize(None)
    return out


# Per-process cache: one loaded table per Parquet file, reloaded when the file changes.
_cache: dict[str, tuple[int, MonitorData]] = {}
_cache_lock = threading.Lock()


def load_data(path: Path | str) -> MonitorData:
    """The engine over a Parquet file of scored rows, cached until the file changes."""
    p = Path(path)
    stamp = p.stat().st_mtime_ns if p.exists() else -1
    key = str(p.resolve())
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    data = MonitorData(p)
    with _cache_lock:
        old = _cache.get(key)
        _cache[key] = (stamp, data)
    del old  # a page may still be reading the old table; it is released when unused
    return data


def clear_cache() -> None:
    """Forget every loaded table."""
    with _cache_lock:
        for _, data in _cache.values():
            data.close()
        _cache.clear()
