"""Batch ad copy: a product list (CSV) with a column mapping -> N checked, ranked variants per row in one CSV.

Registered as the job kind ``copy.batch`` (resource "gpu") when ``aigc_core.jobs`` is installed; ``run_batch``
can also be called directly with any object that has ``report``, ``log``, ``should_stop`` and ``work_dir``."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator

from aigc_core.copy.brief import CHANNELS, Brief, validate_brief
from aigc_core.errors import AigcError, NotFoundError, UserInputError
from aigc_core.jobs import job_kind
from aigc_core.jobs.context import JobContext
from aigc_core.users.roles import Actor

KIND = "copy.batch"
MAPPABLE = ("product", "key_points", "audience", "channel", "tone", "tone_text", "language")
MAX_ROWS = 5000
OUTPUT_COLUMNS = (
    "row",
    "product",
    "channel",
    "language",
    "rank",
    "text",
    "covered_points",
    "within_limits",
    "limit",
    "flagged",
    "violations",
    "error",
)
_GUESSES = {
    "product": ("product", "name", "product name", "brand", "title", "产品", "名称"),
    "key_points": ("features", "key points", "key_points", "benefits", "description", "points", "卖点", "特点"),
    "audience": ("audience", "target", "segment", "人群", "受众"),
    "channel": ("channel", "placement", "渠道"),
    "tone": ("tone", "语气"),
    "language": ("language", "lang", "语言"),
}


class CopyBatchParams(BaseModel):
    """Parameters of a ``copy.batch`` job."""

    input_path: str = Field(..., description="The uploaded product list (CSV) under the data dir.")
    mapping: dict[str, str] = Field(default_factory=dict, description="Brief field -> CSV column.")
    defaults: dict[str, Any] = Field(default_factory=dict, description="Brief fields used when a row has no value.")
    n_variants: int = Field(3, ge=1, le=12)
    brand_kit: str = ""
    model: str = ""
    output_name: str = "ad_copy_batch.csv"

    @field_validator("mapping")
    @classmethod
    def _check_mapping(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k in value if k not in MAPPABLE]
        if bad:
            raise ValueError(f"cannot map {', '.join(bad)}; mappable fields: {', '.join(MAPPABLE)}")
        if "product" not in value and "key_points" not in value:
            raise ValueError("map at least the product or the key points column")
        return {k: v for k, v in value.items() if v}


def batch_params(data: CopyBatchParams | dict[str, Any]) -> CopyBatchParams:
    """Checked job parameters; invalid ones raise UserInputError naming the field."""
    if isinstance(data, CopyBatchParams):
        return data
    try:
        return CopyBatchParams.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ())) or "parameters"
        raise UserInputError(
            f"Batch setting '{where}' is not valid: {err.get('msg', '')}.",
            hint="Fix the column mapping or the batch settings.",
        ) from exc


def read_products(data: bytes | str | Path) -> Any:
    """The product list as a DataFrame of strings (CSV/TSV, encoding detected); clear errors when unreadable."""
    import pandas as pd

    raw = Path(data).read_bytes() if isinstance(data, (str, Path)) else data
    if not raw or not raw.strip():
        raise UserInputError(
            "The product list is empty.", hint="Upload a CSV with a header row and one product per row."
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(raw).best()
        if best is None:
            raise UserInputError("The product list is not text.", hint="Upload a CSV file.") from None
        text = str(best)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
        sep = dialect.delimiter
    except csv.Error:
        sep = ","
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise UserInputError(
            f"The product list could not be read as CSV: {exc}", hint="Check the file is a CSV."
        ) from exc
    if df.empty:
        raise UserInputError("The product list has a header but no rows.", hint="Add one product per row.")
    if len(df) > MAX_ROWS:
        raise UserInputError(f"The product list has {len(df)} rows; the limit is {MAX_ROWS}.", hint="Split the file.")
    df.columns = [str(c).strip() for c in df.columns]
    return df


def suggest_mapping(columns: list[str]) -> dict[str, str]:
    """A first guess of brief field -> column from the column names."""
    out: dict[str, str] = {}
    low = {c.lower().strip(): c for c in columns}
    for fieldname, names in _GUESSES.items():
        for name in names:
            if name in low and low[name] not in out.values():
                out[fieldname] = low[name]
                break
    return out


def row_brief(
    row: dict[str, Any], mapping: dict[str, str], defaults: dict[str, Any], n_variants: int, brand_kit: str, model: str
) -> Brief:
    """The brief of one CSV row (mapped columns over the defaults); channel names may be labels or keys."""
    data = dict(defaults)
    for fieldname, column in mapping.items():
        value = str(row.get(column, "") or "").strip()
        if value:
            data[fieldname] = value
    channel = str(data.get("channel", "social_post")).strip()
    by_label = {v.lower(): k for k, v in CHANNELS.items()}
    data["channel"] = by_label.get(channel.lower(), channel.lower().replace(" ", "_"))
    if "language" in data:
        lang = str(data["language"]).strip().lower()
        data["language"] = {"english": "en", "chinese": "zh", "中文": "zh", "zh-cn": "zh"}.get(lang, lang)
    if "key_points" in data:
        data["key_points"] = str(data["key_points"]).replace(";", "\n").replace("；", "\n")
    data.update(n_variants=n_variants, brand_kit=brand_kit, model=model)
    return validate_brief(data)


def run_batch(ctx: JobContext, params: CopyBatchParams | dict[str, Any]) -> dict[str, Any]:
    """The ``copy.batch`` job: N variants per row, same checks and scores as the page; writes a CSV."""
    from aigc_core.copy import guardrails
    from aigc_core.copy.generate import run_generation
    from aigc_core.copy.lm import load_language_model
    from aigc_core.storage import atomic_path, folder, inside, safe_child

    params = batch_params(params)
    path = inside(folder("uploads"), params.input_path)  # only lists saved by save_upload, never any server file
    if not path.is_file():
        raise NotFoundError(f"The product list {path} is gone.", hint="Upload it again and resubmit.")
    df = read_products(path)
    missing = [c for c in params.mapping.values() if c not in df.columns]
    if missing:
        raise UserInputError(
            f"The product list has no column {', '.join(map(repr, missing))}.", hint="Fix the column mapping."
        )
    kit = guardrails.get_kit(params.brand_kit) if params.brand_kit else None
    ctx.report(0.0, "Loading the language model")
    lm = load_language_model(params.model or None)
    rows_out: list[dict[str, Any]] = []
    n_ok = n_failed = 0
    total = len(df)
    for i, record in enumerate(df.to_dict("records")):
        if ctx.should_stop():
            ctx.log(f"stopped after {i} of {total} rows")
            break
        try:
            brief = row_brief(record, params.mapping, params.defaults, params.n_variants, "", params.model)
            result = run_generation(brief, lm=lm, kit=kit, save=False)
            if not result.variants:
                raise UserInputError("nothing usable came back")
            for rank, v in enumerate(result.variants, start=1):
                rows_out.append(
                    {
                        "row": i + 1,
                        "product": brief.product,
                        "channel": brief.channel,
                        "language": brief.language,
                        "rank": rank,
                        "text": v.text,
                        "covered_points": "; ".join(v.checks.covered_points) if v.checks else "",
                        "within_limits": v.limit.ok,
                        "limit": v.limit.label(),
                        "flagged": v.flagged,
                        "violations": "; ".join(x.reason for x in v.violations),
                        "error": "",
                    }
                )
            n_ok += 1
        except AigcError as exc:
            n_failed += 1
            rows_out.append(
                {"row": i + 1, "product": str(record.get(params.mapping.get("product", ""), "")), "error": str(exc)}
            )
            ctx.log(f"row {i + 1}: {exc}")
        ctx.report((i + 1) / total, f"{i + 1}/{total} products")
    out_dir = Path(ctx.work_dir) if getattr(ctx, "work_dir", None) else folder("exports")
    out_path = safe_child(out_dir, params.output_name, default="ad_copy_batch.csv")  # the name comes from the browser
    with atomic_path(out_path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(OUTPUT_COLUMNS), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows_out)
    ctx.report(1.0 if n_ok + n_failed == total else (n_ok + n_failed) / total, f"wrote {len(rows_out)} rows")
    return {
        "output": str(out_path),
        "rows": total,
        "done": n_ok + n_failed,
        "ok": n_ok,
        "failed": n_failed,
        "variants": sum(1 for r in rows_out if r.get("text")),
    }


@job_kind(KIND, params=CopyBatchParams, resource="gpu", resumable=False)
def copy_batch_job(ctx: JobContext, params: CopyBatchParams) -> dict[str, Any]:
    """Job entry point of ``copy.batch``."""
    return run_batch(ctx, params)


def save_upload(data: bytes, filename: str) -> Path:
    """Keep an uploaded product list under ``uploads/`` (the job reads it from there)."""
    import hashlib

    from aigc_core.settings import get_settings
    from aigc_core.storage import atomic_write_bytes, folder, safe_child, safe_name

    if len(data) > get_settings().max_upload_bytes:
        raise UserInputError("The file is larger than the upload limit.", hint="Raise AIGC_MAX_UPLOAD_MB or split it.")
    read_products(data)  # fail early on an unreadable file
    digest = hashlib.sha256(data).hexdigest()[:12]
    name = f"copy_{digest}_{safe_name(filename, default='products.csv')}"  # the browser's file name
    return atomic_write_bytes(safe_child(folder("uploads"), name), data)


def submit_batch(params: CopyBatchParams | dict[str, Any], *, actor: Actor | None = None) -> str:
    """Queue a ``copy.batch`` job; returns its id."""
    from aigc_core import jobs

    params = batch_params(params)
    return jobs.submit(KIND, params.model_dump(), actor=actor)


def batch_job(job_id: str) -> Any:
    """The job record (status, progress, message, result with ``output``) of a submitted batch."""
    from aigc_core import jobs

    return jobs.get(job_id)
