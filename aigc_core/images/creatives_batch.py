"""The ``images.creatives`` job: a product list → for each row a headline (its own column, or the best variant of
an Ad copy batch's output CSV), an image (generated from a prompt column, or one gallery image for every row) and
the creatives in every chosen size; one ZIP with a folder and a manifest per row."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from aigc_core.errors import AigcError, NotFoundError, UserInputError
from aigc_core.images.layout import PLACEMENTS
from aigc_core.jobs import job_kind
from aigc_core.jobs.context import JobContext
from aigc_core.users.roles import Actor

KIND = "images.creatives"
MAX_ROWS = 500


class CreativesBatchParams(BaseModel):
    """Parameters of an ``images.creatives`` job."""

    input_path: str = Field(..., description="The uploaded CSV under uploads/ (a product list or Ad copy output).")
    headline_column: str = "text"
    product_column: str = "product"
    rank_column: str = "rank"  # Ad copy batch output: only each row's rank-1 variant is used (when present)
    cta_column: str = ""
    cta: str = "Shop now"
    prompt_column: str = ""  # generate one image per row from this column
    image_id: str = ""  # …or use one gallery image for every row
    placements: list[str] = Field(default_factory=lambda: list(PLACEMENTS))
    brand_kit: str | None = None
    fit: str = "crop"
    model: str | None = None
    seed: int = 0
    steps: int | None = None
    output_name: str = "creatives_batch.zip"


def rows_of(params: CreativesBatchParams) -> list[dict[str, str]]:
    """The rows to build: {product, headline, cta, prompt}; UserInputError on missing columns."""
    from aigc_core.copy.batch import read_products
    from aigc_core.storage import folder, inside

    path = inside(folder("uploads"), params.input_path)  # only files saved by save_upload
    if not path.is_file():
        raise NotFoundError(f"The list {path.name} is gone.", hint="Upload it again and resubmit.")
    df = read_products(path)
    need = [params.headline_column, *(c for c in (params.cta_column, params.prompt_column) if c)]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise UserInputError(
            f"The list has no column {', '.join(map(repr, missing))}.",
            hint=f"Its columns are {', '.join(df.columns)}; fix the mapping.",
        )
    if not params.prompt_column and not params.image_id:
        raise UserInputError("No image source is set.", hint="Map a prompt column or pick one gallery image.")
    records = df.to_dict("records")
    if params.rank_column in df.columns:
        records = [r for r in records if str(r[params.rank_column]).strip() in ("1", "1.0")]
    if len(records) > MAX_ROWS:
        raise UserInputError(f"{len(records)} rows; the limit is {MAX_ROWS}.", hint="Split the file.")
    return [
        {
            "product": str(r.get(params.product_column, "") or ""),
            "headline": str(r[params.headline_column] or ""),
            "cta": str(r[params.cta_column]) if params.cta_column else params.cta,
            "prompt": str(r[params.prompt_column]) if params.prompt_column else "",
        }
        for r in records
    ]


def run_creatives_batch(ctx: JobContext, params: CreativesBatchParams | dict[str, Any]) -> dict[str, Any]:
    """Build every row's creatives; a row that fails is logged and counted, the others go on."""
    from aigc_core.images.creatives import CreativeRequest, build_creatives, validate
    from aigc_core.images.generate import generate_images
    from aigc_core.images.request import ImageRequest
    from aigc_core.storage import atomic_write_bytes, folder, safe_child, safe_name

    if isinstance(params, dict):
        params = CreativesBatchParams(**params)
    rows = rows_of(params)
    index: list[dict[str, Any]] = []
    buf = io.BytesIO()
    n_ok = 0
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for i, row in enumerate(rows):
            if ctx.should_stop():
                ctx.log(f"stopped after {i} of {len(rows)} rows")
                break
            name = f"{i + 1:03d}_{safe_name(row['product'] or 'row', default='row')[:40]}"
            try:
                request = CreativeRequest(
                    headline=row["headline"],
                    cta=row["cta"],
                    image_id=params.image_id,
                    placements=params.placements,
                    brand_kit=params.brand_kit,
                    fit=params.fit,
                    copy_ref={"row": i + 1, "product": row["product"]},
                    seed=params.seed + i,
                )
                validate(request)  # a bad row fails before its image is generated
                if row["prompt"]:
                    ctx.report(i / len(rows), f"row {i + 1}: image")
                    req = ImageRequest(
                        prompt=row["prompt"], model=params.model, seed=params.seed + i, steps=params.steps
                    )
                    made = generate_images(req, job_id=getattr(ctx, "job_id", None))
                    request.image_id = made.images[0].generation_id or ""
                image_id = request.image_id
                result = build_creatives(request)
                for c in result.creatives:
                    zf.writestr(f"{name}/{c.file_name}", c.png)
                zf.writestr(f"{name}/manifest.json", json.dumps(result.manifest, indent=2, ensure_ascii=False))
                index.append({"row": i + 1, "folder": name, "product": row["product"], "image_id": image_id})
                n_ok += 1
            except AigcError as exc:
                index.append({"row": i + 1, "product": row["product"], "error": str(exc)})
                ctx.log(f"row {i + 1}: {exc}")
            ctx.report((i + 1) / len(rows), f"{i + 1}/{len(rows)} rows")
        zf.writestr("index.json", json.dumps(index, indent=2, ensure_ascii=False))
    out_dir = Path(ctx.work_dir) if getattr(ctx, "work_dir", None) else folder("exports")
    out_path = safe_child(out_dir, params.output_name, default="creatives_batch.zip")
    atomic_write_bytes(out_path, buf.getvalue())
    return {"output": str(out_path), "rows": len(rows), "ok": n_ok, "failed": len(index) - n_ok}


@job_kind(KIND, params=CreativesBatchParams, resource="gpu", resumable=False)
def creatives_batch_job(ctx: JobContext, params: CreativesBatchParams) -> dict[str, Any]:
    """Job entry point of ``images.creatives``."""
    return run_creatives_batch(ctx, params)


def save_upload(data: bytes, filename: str) -> Path:
    """Keep an uploaded list under ``uploads/`` (the job reads it from there)."""
    from aigc_core.copy.batch import save_upload as save_list

    return save_list(data, filename)


def submit(params: CreativesBatchParams | dict[str, Any], *, actor: Actor | None = None) -> str:
    """Queue an ``images.creatives`` job (validated first); its id."""
    from aigc_core import jobs

    if isinstance(params, dict):
        params = CreativesBatchParams(**params)
    rows_of(params)  # fail before queueing on a missing file or column
    return jobs.submit(KIND, params.model_dump(), actor=actor)
