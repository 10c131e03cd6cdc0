"""Data bench: profile + the full cleaning recipe, vectorised engine vs a naive row-by-row baseline.

    python bench/data.py           # 1,000,000 rows (engine) vs a 100,000-row baseline sample
    python bench/data.py --quick   # 100,000 rows vs 20,000 (under a minute on a laptop CPU)
    python bench/data.py --rows N --baseline-rows M

Data: ~150-character texts synthesised from ``../shared/data/tweets_sentiment.csv`` (or the shipped sample)
plus noise — URLs, @mentions, RT prefixes, HTML entities, mojibake (UTF-8 read as cp1252), e-mails, phone
and card numbers, exact and near duplicates, empty texts, mixed label spellings and timestamp strings.

ours     = ``aigc_core.data.profile`` + ``aigc_core.data.clean`` with every step on (pyarrow compute / RE2,
           ftfy only on rows a mojibake prefilter flags, Luhn only on card-like candidates).
baseline = the same steps as plain Python functions applied row by row (``DataFrame.apply`` /
           ``Series.apply``): NFKC + ftfy on every row, ``re.sub`` per step, per-row dedup keys, label
           dict lookups, per-row ``pd.Timestamp`` parsing. It runs on a subsample and is reported in rows/s.

Rows/s are wall-clock (the RESULT line); the CPU time of the process is printed too, since a shared
machine's load skews wall time. Peak memory: the process RSS (psutil), sampled every 5 ms by a thread
while the engine runs, minus the RSS just before. RSS rather than tracemalloc because most of the memory
is Arrow buffers, which tracemalloc does not see. It is compared with the input frame's in-memory size
(``memory_usage(deep=True)``).
Targets: >= 5x the baseline's rows/s; peak memory <= 4x the data's size.
"""

from __future__ import annotations

import argparse
import gc
import html
import os
import re
import sys
import threading
import time
import unicodedata
from pathlib import Path

# bench/ holds copy.py (named like the stdlib module): take bench/ off the import path, put the repo root on.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ftfy  # noqa: E402 - imported before the measurement, as the app has it loaded
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import psutil  # noqa: E402

from aigc_core.data.clean import DEFAULT_LABEL_MAPPING, Recipe, clean  # noqa: E402
from aigc_core.data.profile import Roles, profile  # noqa: E402

SOURCES = [ROOT.parent / "shared" / "data" / "tweets_sentiment.csv", ROOT / "assets" / "samples" / "tweets_sample.csv"]
LABEL_SPELLINGS = {
    "positive": ["positive", "Positive", "pos", "1", "正面"],
    "negative": ["negative", "NEG", "-1", "负面", "消极"],
    "neutral": ["neutral", "0", "中性"],
}
ROLES = Roles(text="text", label="label", timestamp="created_at")
RECIPE = Recipe(
    unicode=True,
    mask_pii=True,
    remove_rt=True,
    remove_html=True,
    remove_urls=True,
    remove_mentions=True,
    trim=True,
    drop_empty=True,
    min_length=5,
    max_length=400,
    dedup="normalised",
    normalise_labels=True,
    parse_timestamps=True,
    timezone="Europe/Berlin",
)


# ------------------------------------------------------------------------------------------------
# Synthetic data
# ------------------------------------------------------------------------------------------------
def synthesise(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` noisy ~150-character texts with labels and timestamp strings."""
    src = next((p for p in SOURCES if p.exists()), None)
    if src is None:
        sys.exit("no tweets file found (../shared/data/tweets_sentiment.csv or assets/samples/tweets_sample.csv)")
    base = pd.read_csv(src).dropna(subset=["text", "sentiment"])
    texts = base["text"].astype(str).to_numpy()
    labels = base["sentiment"].astype(str).to_numpy()
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(texts), size=n)
    extra = rng.integers(0, len(texts), size=n)
    noise = rng.random((n, 8))
    out: list[str] = []
    for i in range(n):
        t = texts[pick[i]]
        if len(t) < 120:
            t = f"{t} {texts[extra[i]]}"[:150]
        r = noise[i]
        if r[0] < 0.15:
            t = f"{t} https://t.co/{i:x}"
        if r[1] < 0.15:
            t = f"@user{i % 977} {t}"
        if r[2] < 0.05:
            t = f"RT @news{i % 31}: {t}"
        if r[3] < 0.05:
            t = f"{t} café “quoted” — ok".encode().decode("cp1252", errors="replace")
        if r[4] < 0.03:
            t = f"{t} mail me at person{i}@example.com"
        if r[4] > 0.99:
            t = f"{t} call +1 415 555 {i % 10000:04d} or card 4111 1111 1111 1111"
        if r[5] < 0.03:
            t = f"{t} &amp; <b>more</b>"
        if r[6] < 0.01:
            t = "   "
        out.append(t)
    df = pd.DataFrame({"text": pd.Series(out, dtype="str")})
    # exact duplicates (8%) and near duplicates (4%: case + trailing URL)
    dup = rng.random(n) < 0.08
    src_rows = rng.integers(0, n, size=n)
    df.loc[dup, "text"] = df["text"].to_numpy()[src_rows[dup]]
    near = (rng.random(n) < 0.04) & ~dup
    df.loc[near, "text"] = df["text"].to_numpy()[src_rows[near]].astype(str)
    df.loc[near, "text"] = df.loc[near, "text"].str.upper() + " http://x.co/y"
    spell = [rng.choice(LABEL_SPELLINGS[lab]) for lab in labels[pick]]
    df["label"] = pd.Series(spell, dtype="str")
    start = np.datetime64("2024-01-01T00:00:00")
    secs = rng.integers(0, 90 * 86400, size=n)
    df["created_at"] = pd.Series((start + secs.astype("timedelta64[s]")).astype(str), dtype="str")
    return df


# ------------------------------------------------------------------------------------------------
# Naive baseline: the same steps, one row at a time in plain Python
# ------------------------------------------------------------------------------------------------
_URL = re.compile(r"(?i)\b(?:https?://|www\.)\S+|\bhttps?:?/{0,2}(?:…|äó\S*)")
_MENTION = re.compile(r"(?:^|\s)@\w+")
_RT = re.compile(r"^\s*RT\s+(?:@\w+\s*:?\s*)?")
_TAG = re.compile(r"<[^>\n]{1,200}>")
_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|apos|nbsp|#\d{1,6});")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_PHONE = re.compile(r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\b\d{2,4}[ .-])\d{3,4}[ .-]?\d{3,4}\b|\b1[3-9]\d{9}\b")
_PUNCT = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")
_MAP = {k.casefold(): v for k, v in DEFAULT_LABEL_MAPPING.items()}


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    return "[CARD]" if _luhn(digits) else m.group(0)


def _clean_row(t: str) -> str:

    t = ftfy.fix_text(unicodedata.normalize("NFKC", t), unescape_html=False)
    t = _EMAIL.sub("[EMAIL]", t)
    t = _CARD.sub(_card, t)
    t = _PHONE.sub("[PHONE]", t)
    t = _RT.sub("", t)
    t = _ENTITY.sub(" ", _TAG.sub(" ", t))
    t = _URL.sub("", t)
    t = _MENTION.sub(" ", t)
    return _SPACE.sub(" ", t).strip()


def _key_row(t: str) -> str:
    t = _MENTION.sub(" ", _URL.sub("", _RT.sub("", t)))
    t = _PUNCT.sub(" ", html.unescape(unicodedata.normalize("NFKC", t)).casefold())
    return _SPACE.sub(" ", t).strip()


def _ts_row(v: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(v).tz_localize("Europe/Berlin").tz_convert("UTC")
    except (ValueError, TypeError):
        return pd.NaT


def naive(df: pd.DataFrame) -> pd.DataFrame:
    """Profile + the recipe, row by row."""
    # profile
    _ = df["text"].apply(len).describe()
    _ = df["text"].apply(_key_row).duplicated().sum()
    _ = df["label"].value_counts()
    _ = df["created_at"].apply(_ts_row).agg(["min", "max"])
    # clean
    df = df.copy()
    df["text"] = df.apply(lambda row: _clean_row(row["text"]), axis=1)
    df = df[df["text"].apply(lambda t: 5 <= len(t) <= 400)]
    df = df[~df["text"].apply(_key_row).duplicated()]
    df["label"] = df["label"].apply(lambda v: _MAP.get(str(v).strip().casefold(), v))
    df["created_at"] = df["created_at"].apply(_ts_row)
    return df


# ------------------------------------------------------------------------------------------------
# Measurement
# ------------------------------------------------------------------------------------------------
class PeakRSS:
    """Peak resident memory above the starting level, sampled by a thread."""

    def __init__(self, interval: float = 0.005) -> None:
        self.proc = psutil.Process(os.getpid())
        self.interval = interval
        self.start = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        gc.collect()
        self.start = self.peak = self.proc.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def delta_mb(self) -> float:
        """Peak minus start, in MB."""
        return (self.peak - self.start) / 1e6


def main() -> None:
    """Run the bench and print RESULT lines."""
    from aigc_core.users.roles import SYSTEM, set_process_actor

    set_process_actor(SYSTEM)  # a bench is the operator's own run: it may load models from folders
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="100k rows, 20k-row baseline")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--baseline-rows", type=int, default=None)
    args = ap.parse_args()
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    base_rows = args.baseline_rows or (20_000 if args.quick else 100_000)

    t0 = time.perf_counter()
    df = synthesise(rows)
    data_mb = df.memory_usage(deep=True).sum() / 1e6
    mean_len = df["text"].str.len().mean()
    print(
        f"synthesised {rows:,} rows (mean text length {mean_len:.0f} chars, {data_mb:,.0f} MB in memory) "
        f"in {time.perf_counter() - t0:.1f}s; pandas {pd.__version__}, {os.cpu_count()} CPU(s)"
    )

    with PeakRSS() as mem:
        t0, c0 = time.perf_counter(), time.process_time()
        prof = profile(df, ROLES)
        t_prof = time.perf_counter() - t0
        res = clean(df, RECIPE, ROLES)
        t_total, c_total = time.perf_counter() - t0, time.process_time() - c0
    ours = rows / t_total
    print(
        f"ours: profile {t_prof:.1f}s + clean {t_total - t_prof:.1f}s = {t_total:.1f}s -> {ours:,.0f} rows/s; "
        f"peak RSS +{mem.delta_mb:,.0f} MB; {rows:,} -> {len(res.df):,} rows "
        f"(near duplicates in profile: {prof.near_duplicates:,})"
    )
    for rep in res.reports:
        print(f"  {rep.step:<18} changed {rep.changed:>9,}  dropped {rep.dropped:>9,}")
    del res, prof
    gc.collect()

    sub = df.sample(n=min(base_rows, rows), random_state=1).reset_index(drop=True)
    sub = sub.astype(object)  # plain Python strings, as a row-by-row implementation would hold them
    t0, c0 = time.perf_counter(), time.process_time()
    out = naive(sub)
    t_base, c_base = time.perf_counter() - t0, time.process_time() - c0
    base = len(sub) / t_base
    print(f"baseline (row by row, {len(sub):,} rows): {t_base:.1f}s -> {base:,.0f} rows/s; {len(out):,} rows left")
    # On a shared machine wall time depends on the other load; CPU time of this process does not.
    cpu_ratio = (rows / c_total) / (len(sub) / c_base)
    print(
        f"CPU time: ours {c_total:.1f}s ({rows / c_total:,.0f} rows/s), baseline {c_base:.1f}s "
        f"({len(sub) / c_base:,.0f} rows/s) -> ratio {cpu_ratio:.2f}; load average {os.getloadavg()[0]:.1f}"
    )

    ratio = ours / base
    verdict = "PASS" if ratio >= 5 else "FAIL"
    print(f"RESULT clean_rows_per_s value={ours:.0f} baseline={base:.0f} ratio={ratio:.2f} target=5 {verdict}")
    mem_ratio = mem.delta_mb / data_mb
    verdict = "PASS" if mem_ratio <= 4 else "FAIL"
    print(
        f"RESULT clean_peak_mem_ratio value={mem.delta_mb:.0f} baseline={data_mb:.0f} ratio={mem_ratio:.2f} "
        f"target=4 {verdict}"
    )


if __name__ == "__main__":
    main()
