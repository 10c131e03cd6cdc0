"""The ``images.creatives`` job: a CSV (Ad copy batch output with prompts) → an image and creatives per row."""

from __future__ import annotations

import json
import zipfile

import pytest

from aigc_core.errors import UserInputError
from aigc_core.images import creatives_batch
from aigc_core.images.creatives_batch import CreativesBatchParams, run_creatives_batch

CSV = """row,product,rank,text,prompt
1,Bottle,1,Cold water for 24 hours,a steel bottle on moss
1,Bottle,2,A worse variant,a steel bottle on moss
2,Mug,1,咖啡更香，一杯就够。,a ceramic mug
3,Broken,1,   ,a cube
"""


def _upload() -> str:
    return str(creatives_batch.save_upload(CSV.encode(), "copy_output.csv"))


def test_batch_builds_every_row_from_copy_output_and_prompts(loaded, fake_ctx, tmp_path) -> None:
    ctx = fake_ctx()
    ctx.work_dir = tmp_path
    params = CreativesBatchParams(input_path=_upload(), prompt_column="prompt", placements=["mrec", "leaderboard"],
                                  steps=1, seed=5)  # fmt: skip
    result = run_creatives_batch(ctx, params)
    assert result["rows"] == 3 and result["ok"] == 2 and result["failed"] == 1  # rank-1 rows; the empty one fails
    with zipfile.ZipFile(result["output"]) as zf:
        names = set(zf.namelist())
        index = json.loads(zf.read("index.json"))
        manifest = json.loads(zf.read("002_Mug/manifest.json"))
    assert {"001_Bottle/mrec_300x250.png", "001_Bottle/leaderboard_728x90.png", "002_Mug/mrec_300x250.png"} <= names
    assert manifest["copy"]["headline"] == "咖啡更香，一杯就够。" and manifest["image"]["seed"] == 6
    assert manifest["image"]["settings"]["prompt"] == "a ceramic mug"
    assert "headline is empty" in index[2]["error"] and any("row 3" in line for line in ctx.lines)
    assert ctx.reports[-1][0] == 1.0
    from aigc_core.images import gallery

    assert len(gallery.list_images()) == 2  # the row with no headline failed before its image was generated


def test_missing_column_or_image_source_is_refused_before_queueing(settings) -> None:
    path = _upload()
    with pytest.raises(UserInputError, match="no column 'slogan'"):
        creatives_batch.submit(CreativesBatchParams(input_path=path, headline_column="slogan", image_id="x"))
    with pytest.raises(UserInputError, match="No image source"):
        creatives_batch.submit(CreativesBatchParams(input_path=path))


def test_the_kind_is_registered() -> None:
    from aigc_core.jobs.registry import get_kind

    assert get_kind("images.creatives").resource == "gpu"
