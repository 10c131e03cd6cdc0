"""Background jobs of the support package: ``support.index`` (build a knowledge-base version's hybrid index) and
``support.batch`` (a CSV of tickets → a CSV of drafted replies with citations and flags)."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

from aigc_core.errors import UserInputError
from aigc_core.jobs import job_kind
from aigc_core.jobs.context import JobContext
from aigc_core.storage import atomic_write_bytes

INDEX_KIND = "support.index"
BATCH_KIND = "support.batch"
MAX_BATCH_ROWS = 5000


class IndexParams(BaseModel):
    """Which knowledge-base version to index."""

    version_id: str


class BatchParams(BaseModel):
    """A CSV of tickets (a file under the data dir) and how to reply to them."""

    version_id: str
    csv_path: str
    text_column: str = "text"
    name_column: str | None = None
    channel: str = "email"
    language: str = "auto"
    max_new_tokens: int = Field(default=200, ge=1, le=1024)
    seed: int = 0
    min_similarity: float | None = Field(default=None, ge=0.0, le=1.0)


def run_index(ctx: JobContext, params: IndexParams) -> dict[str, Any]:
    """Build the index, reporting progress; a cancel stops between embedding batches."""
    from aigc_core.support import kb

    info = kb.build_index(params.version_id, progress=ctx.report, should_stop=ctx.should_stop)
    ctx.report(1.0, f"{info.label} ready")
    return {"version_id": info.id, "n_chunks": info.n_chunks, "status": info.status}


@job_kind(INDEX_KIND, params=IndexParams, resource="cpu")
def support_index_job(ctx: JobContext, params: IndexParams) -> dict[str, Any]:
    """Job entry point of ``support.index``."""
    return run_index(ctx, params)


def read_tickets(raw: bytes, text_column: str = "text") -> pd.DataFrame:
    """The tickets of an uploaded CSV; UserInputError naming a missing column."""
    from aigc_core.data.readers import read_file

    df = read_file(raw, "tickets.csv").df
    if text_column not in df.columns:
        raise UserInputError(
            f"The tickets file has no column {text_column!r} (columns: {', '.join(map(str, df.columns[:10]))}).",
            hint="Pick the column that holds the customers' messages.",
        )
    if len(df) > MAX_BATCH_ROWS:
        raise UserInputError(
            f"{len(df):,} tickets is too many for one batch.", hint=f"Send at most {MAX_BATCH_ROWS:,}."
        )
    return df


def run_batch(ctx: JobContext, params: BatchParams, **draft_kwargs: Any) -> dict[str, Any]:
    """Draft a reply for every ticket of the CSV; writes ``replies.csv`` into the job's folder."""
    from pathlib import Path

    from aigc_core.support.reply import Ticket, draft_reply

    df = read_tickets(Path(params.csv_path).read_bytes(), params.text_column)
    rows: list[dict[str, Any]] = []
    stopped = False
    for i, rec in enumerate(df.to_dict("records")):
        if ctx.should_stop():
            stopped = True
            break
        name = str(rec.get(params.name_column) or "") if params.name_column else ""
        text = "" if pd.isna(rec[params.text_column]) else str(rec[params.text_column])
        out: dict[str, Any] = {"row": i, "ticket": text}
        try:
            d = draft_reply(
                params.version_id, Ticket(text, name, params.channel, params.language),
                max_new_tokens=params.max_new_tokens, seed=params.seed, job_id=getattr(ctx, "job_id", None),
                min_similarity=params.min_similarity,
                **draft_kwargs,
            )  # fmt: skip
            out.update(
                reply=d.reply, status=d.status, draft_source=d.draft_source or "handoff",
                citations=" ".join(f"[{n}]" for n in d.cited),
                sources="; ".join(f"[{p.rank}] {p.chunk.source}: {p.chunk.title}" for p in d.passages),
                flags="; ".join(f"{f.kind}: {f.message}" for f in d.flags), sentiment=d.sentiment.get("label"),
                reply_id=d.id,
            )  # fmt: skip
        except UserInputError as exc:
            out.update(reply="", status="error", flags=str(exc))
        rows.append(out)
        ctx.report((i + 1) / len(df), f"{i + 1:,} of {len(df):,} tickets")
    buf = io.StringIO()
    pd.DataFrame(rows).to_csv(buf, index=False)
    path = Path(ctx.work_dir) / "replies.csv"
    atomic_write_bytes(path, buf.getvalue().encode("utf-8"))
    counts = pd.Series([r["status"] for r in rows]).value_counts().to_dict() if rows else {}
    return {"rows": len(rows), "of": len(df), "stopped": stopped, "path": str(path), "status_counts": counts}


@job_kind(BATCH_KIND, params=BatchParams, resource="cpu")
def support_batch_job(ctx: JobContext, params: BatchParams) -> dict[str, Any]:
    """Job entry point of ``support.batch``."""
    return run_batch(ctx, params)


def submit_batch(
    version_id: str,
    raw: bytes,
    *,
    text_column: str = "text",
    name_column: str | None = None,
    channel: str = "email",
    language: str = "auto",
    actor: Any = None,
) -> str:
    """Validate a CSV of tickets, keep it under the data dir and submit a ``support.batch`` job; its id."""
    import uuid

    from aigc_core import jobs
    from aigc_core.storage import data_path
    from aigc_core.support import kb

    kb.load_index(kb.get_version(version_id, actor=actor))  # ready and readable by the acting user
    df = read_tickets(raw, text_column)
    if name_column and name_column not in df.columns:
        raise UserInputError(f"The tickets file has no column {name_column!r}.", hint="Leave the name column empty.")
    path = data_path("support", "batches", f"{uuid.uuid4().hex}.csv")
    atomic_write_bytes(path, raw)
    params = BatchParams(
        version_id=version_id, csv_path=str(path), text_column=text_column, name_column=name_column or None,
        channel=channel, language=language,
    )  # fmt: skip
    return jobs.submit(BATCH_KIND, params, actor=actor)


def batch_result(job_id: str, *, actor: Any = None) -> bytes:
    """The replies CSV of a finished ``support.batch`` job the acting user may see."""
    from pathlib import Path

    from aigc_core import jobs
    from aigc_core.errors import NotFoundError

    job = jobs.get(job_id, actor=actor)
    path = Path(str((job.result or {}).get("path", "")))
    if job.kind != BATCH_KIND or not path.is_file():
        raise NotFoundError("This job has no replies file.", hint="Wait until the batch job has finished.")
    return path.read_bytes()
