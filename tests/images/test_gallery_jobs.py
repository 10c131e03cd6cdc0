"""Gallery (store round trip, filters, favourite, delete, zip, reproduce/vary/restore), the images.batch job,
model loading errors and memory care."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from aigc_core.errors import ModelUnavailableError, NotFoundError, UserInputError
from aigc_core.images import ImageRequest, gallery, generate_images
from aigc_core.images.metadata import read_png_settings


def _make(loaded, **kw):
    base = {"prompt": "a green bottle", "steps": 1, "seed": 1}
    return generate_images(ImageRequest(**{**base, **kw}), loaded=loaded)


def test_saved_png_and_row_round_trip(loaded, data_dir: Path) -> None:
    r = _make(loaded, style="Flat illustration", num_images=2)
    assert len(r.images) == 2
    for g in r.images:
        path = Path(g.path)
        assert path.is_file() and path.is_relative_to(data_dir / "images")
        item = gallery.get_image(g.generation_id)
        assert item.seed == g.seed and item.style == "Flat illustration" and item.size == (64, 64)
        assert item.model == loaded.name and item.model_revision == loaded.revision
        assert read_png_settings(item.png()) == item.settings == g.settings
        assert item.thumbnail()[:3] == b"\xff\xd8\xff"  # a JPEG thumbnail for the grid
    assert not list((data_dir / "images").rglob(".*.tmp"))  # atomic writes leave no temp files


def test_list_filters(loaded) -> None:
    _make(loaded, prompt="a red chair", style="Poster")
    _make(loaded, prompt="a blue sofa")
    fav = _make(loaded, prompt="a red lamp").images[0].generation_id
    gallery.set_favourite(fav, True)
    assert len(gallery.list_images()) == 3
    assert {i.prompt.split(",")[0] for i in gallery.list_images(search="RED")} == {"a red chair", "a red lamp"}
    assert [i.style for i in gallery.list_images(style="Poster")] == ["Poster"]
    assert [i.id for i in gallery.list_images(favourites_only=True)] == [fav]
    assert len(gallery.list_images(model=loaded.name)) == 3 and gallery.list_images(model="other") == []
    today = datetime.now(UTC).date()
    assert len(gallery.list_images(start=today, end=today)) == 3
    assert gallery.list_images(end=today - timedelta(days=1)) == []
    assert gallery.filter_options() == {"models": [loaded.name], "styles": ["Poster"]}
    assert gallery.list_images()[0].id == fav  # newest first
    gallery.set_favourite(fav, False)
    assert gallery.list_images(favourites_only=True) == []


def test_delete_removes_file_and_row(loaded) -> None:
    r = _make(loaded, num_images=2)
    a, b = r.images
    assert gallery.delete_images([a.generation_id, "nope"]) == 1
    assert not Path(a.path).exists() and Path(b.path).exists()
    assert not gallery.thumb_path(Path(a.path)).exists() and gallery.thumb_path(Path(b.path)).exists()
    with pytest.raises(NotFoundError):
        gallery.get_image(a.generation_id)
    assert [i.id for i in gallery.list_images()] == [b.generation_id]


def test_zip_of_a_selection(loaded) -> None:
    r = _make(loaded, num_images=3)
    ids = [g.generation_id for g in r.images[:2]]
    with zipfile.ZipFile(io.BytesIO(gallery.zip_images(ids))) as zf:
        names = zf.namelist()
        pngs = [n for n in names if n.endswith(".png")]
        assert len(pngs) == 2 and "settings.json" in names
        index = json.loads(zf.read("settings.json"))
        assert [e["id"] for e in index] == ids
        assert read_png_settings(zf.read(pngs[0]))["seed"] in {1, 2}
    with pytest.raises(UserInputError):
        gallery.zip_images([])


def test_reproduce_and_vary(loaded) -> None:
    r = _make(loaded, num_images=2, steps=2, seed=20)
    second = r.images[1]
    again = gallery.reproduce(second.generation_id)
    assert again.seeds == [21] and len(again.images) == 1
    assert np.array_equal(np.asarray(again.images[0].image), np.asarray(second.image))
    assert gallery.get_image(again.images[0].generation_id).seed == 21
    other = gallery.vary(second.generation_id)
    assert other.seeds[0] != 21
    assert other.settings["prompt"] == second.settings["prompt"]
    assert not np.array_equal(np.asarray(other.images[0].image), np.asarray(second.image))


def test_reproduce_image_to_image_uses_the_kept_source(loaded) -> None:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (0, 90, 200)).save(buf, format="PNG")
    r = _make(loaded, init_image=buf.getvalue(), strength=0.6, steps=2)
    again = gallery.reproduce(r.images[0].generation_id)
    assert np.array_equal(np.asarray(again.images[0].image), np.asarray(r.images[0].image))


def test_restore_settings_from_png(loaded) -> None:
    r = _make(loaded, style="Line sketch", negative_prompt="colour")
    settings = gallery.restore_settings(r.images[0].png)
    req = gallery.request_from_settings(settings)
    assert req.prompt == "a green bottle" and req.style == "Line sketch" and req.negative_prompt == "colour"
    assert req.seed == r.images[0].seed and req.steps == 1


def test_batch_job_with_fake_context(loaded, fake_ctx) -> None:
    from aigc_core.images.jobs import BATCH_KIND, ImageBatchParams, run_batch

    assert BATCH_KIND == "images.batch"
    ctx = fake_ctx()
    out = run_batch(ctx, ImageBatchParams(prompt="a tent", num_images=5, steps=2, seed=3, model=loaded.name))
    assert out["seeds"] == [3, 4, 5, 6, 7] and not out["cancelled"]
    assert {i.id for i in gallery.list_images()} == set(out["generation_ids"])
    assert ctx.reports[-1][0] == 1.0 and ctx.reports[0] == (0.5, "step 5 of 10")
    assert ctx.lines and "a tent" in ctx.lines[0]


def test_batch_job_cancel_and_dict_params(loaded, fake_ctx) -> None:
    from aigc_core.images.jobs import run_batch

    ctx = fake_ctx(stop_after_reports=1)
    out = run_batch(ctx, {"prompt": "a tent", "num_images": 6, "steps": 2, "seed": 3, "model": loaded.name})
    assert out["cancelled"] and out["generation_ids"] == []


# Model loading ------------------------------------------------------------------------------------
def test_loaded_tiny_model_description(loaded) -> None:
    assert loaded.native == 64 and loaded.family == "sd" and loaded.device == "cpu"
    assert "native 64×64" in loaded.describe()


def test_folder_that_is_not_a_diffusers_model(tmp_path: Path, settings) -> None:
    from aigc_core.images.loader import load_pipeline

    (tmp_path / "weights").mkdir()
    with pytest.raises(ModelUnavailableError, match="not a diffusers model folder") as e:
        load_pipeline(str(tmp_path / "weights"))
    assert "model_index.json" in e.value.hint
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        load_pipeline(str(tmp_path / "missing"))


def test_checkpoint_of_unknown_architecture(tmp_path: Path, settings) -> None:
    import torch
    from safetensors.torch import save_file

    from aigc_core.images.loader import load_pipeline

    ckpt = tmp_path / "mystery.safetensors"
    save_file({"encoder.layer.0.weight": torch.zeros(2, 2)}, str(ckpt))
    with pytest.raises(ModelUnavailableError, match="architecture the Images page does not know"):
        load_pipeline(str(ckpt))
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"not safetensors")
    with pytest.raises(ModelUnavailableError, match=r"not a readable \.safetensors"):
        load_pipeline(str(bad))
    with pytest.raises(ModelUnavailableError, match="pickle"):
        (tmp_path / "old.ckpt").write_bytes(b"x")
        load_pipeline(str(tmp_path / "old.ckpt"))


def test_hub_model_not_available_offline(settings) -> None:
    from aigc_core.images.loader import load_pipeline

    with pytest.raises(ModelUnavailableError, match="offline") as e:
        load_pipeline("auto")
    assert e.value.hint and "AIGC_TEXT_TO_IMAGE_MODEL" in str(e.value)


# Memory care ---------------------------------------------------------------------------------------
class _FakeVae:
    def __init__(self) -> None:
        self.use_tiling = False

    def enable_tiling(self) -> None:
        self.use_tiling = True

    def disable_tiling(self) -> None:
        self.use_tiling = False


class _FakePipe:
    def __init__(self) -> None:
        self.vae = _FakeVae()
        self.unet = type("U", (), {})()
        self.calls: list[str] = []

    def enable_attention_slicing(self) -> None:
        self.calls.append("slicing")

    def disable_attention_slicing(self) -> None:
        self.calls.append("no-slicing")

    def enable_model_cpu_offload(self, device: str) -> None:
        self.calls.append(f"offload:{device}")


def _fake_loaded(device: str):
    from aigc_core.images.loader import LoadedPipeline

    return LoadedPipeline(_FakePipe(), "m", "r", "sd", 512, True, device, "float16")


def test_memory_care_chooses_by_free_memory() -> None:
    from aigc_core.images.memory import GIB, prepare_memory

    lp = _fake_loaded("cuda")
    assert prepare_memory(lp, 512, 512, 1, 0.0, free_bytes=40 * GIB) == []
    acts = prepare_memory(lp, 512, 512, 8, 7.0, free_bytes=10 * GIB)
    assert acts == ["attention slicing (low GPU memory)"] and lp.pipe.calls == ["slicing"]
    acts = prepare_memory(lp, 1536, 1536, 4, 7.0, free_bytes=1 * GIB)
    assert "VAE tiling (large image)" in acts and "model CPU offload (very low GPU memory)" in acts
    assert lp.pipe.vae.use_tiling
    prepare_memory(lp, 512, 512, 1, 0.0, free_bytes=40 * GIB)
    assert not lp.pipe.vae.use_tiling and lp.pipe.calls[-1] == "no-slicing"
    cpu = _fake_loaded("cpu")
    assert prepare_memory(cpu, 512, 512, 8, 7.0, free_bytes=0) == []


def test_optimize_pipeline_fast_path_keeps_output(loaded) -> None:
    from aigc_core.images.memory import optimize_pipeline
    from aigc_core.images.tiny import build_tiny_pipeline

    pipe = build_tiny_pipeline()
    pipe.set_progress_bar_config(disable=True)
    report = optimize_pipeline(pipe, "fast")
    assert report["applied"] == ["channels_last", "fused_qkv"] and report["compile_s"] == 0.0
    assert optimize_pipeline(pipe, "off")["applied"] == []
    out = pipe("a cup", num_inference_steps=1, height=64, width=64, guidance_scale=0.0, output_type="np")
    assert out.images.shape == (1, 64, 64, 3) and np.isfinite(out.images).all()


def test_submit_batch_queues_a_valid_job(loaded) -> None:
    pytest.importorskip("aigc_core.jobs")
    from aigc_core import jobs
    from aigc_core.images.jobs import BATCH_KIND, ImageBatchParams, submit_batch

    src = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (64, 64)).save(src, format="PNG")
    job_id = submit_batch(ImageRequest(prompt="a tent", num_images=6, init_image=src.getvalue(), seed=2))
    info = jobs.get(job_id)
    assert info.kind == BATCH_KIND and info.status == "queued"
    params = ImageBatchParams(**info.params)
    assert params.num_images == 6 and Path(params.init_image_path).read_bytes() == src.getvalue()
    assert params.to_request().init_image == src.getvalue()
    assert jobs.get_kind(BATCH_KIND).resource == "gpu"


def test_optimize_for_device_follows_the_setting(settings, monkeypatch) -> None:
    from aigc_core.images.loader import LoadedPipeline
    from aigc_core.images.memory import optimize_for_device
    from aigc_core.images.tiny import build_tiny_pipeline
    from aigc_core.settings import reset_settings

    pipe = build_tiny_pipeline()
    assert optimize_for_device(LoadedPipeline(pipe, "t", "", "sd", 64, True, "cpu", "float32"))["applied"] == []
    gpu_like = LoadedPipeline(pipe, "t", "", "sd", 64, True, "cuda", "float16")  # runs on CPU, labelled cuda
    assert optimize_for_device(gpu_like)["applied"] == ["channels_last", "fused_qkv"]  # default: fast
    monkeypatch.setenv("AIGC_IMAGE_COMPILE", "off")
    reset_settings()
    assert optimize_for_device(gpu_like) == {"mode": "off", "applied": [], "compile_s": 0.0}
    monkeypatch.setenv("AIGC_IMAGE_COMPILE", "fast")
    reset_settings()
    broken = LoadedPipeline(object(), "t", "", "sd", 64, True, "cuda", "float16")
    report = optimize_for_device(broken)  # a failure falls back to the plain pipeline
    assert report["mode"] == "off" and report["error"]


@pytest.mark.slow
def test_optimize_pipeline_compile_mode_matches_plain() -> None:
    """The GPU compile path, on the CPU: fullgraph compile of UNet and VAE decoder, warmed up, same pixels."""
    import torch

    from aigc_core.images.memory import optimize_pipeline
    from aigc_core.images.tiny import build_tiny_pipeline

    pipe = build_tiny_pipeline()
    pipe.set_progress_bar_config(disable=True)

    def run() -> np.ndarray:
        gen = torch.Generator().manual_seed(3)
        return pipe("a cup", num_inference_steps=2, height=64, width=64, generator=gen, output_type="np").images

    plain = run()
    report = optimize_pipeline(pipe, "compile", warmup_size=64)
    assert report["applied"][-1] == "torch.compile(default)" and report["compile_s"] > 0
    np.testing.assert_allclose(run(), plain, atol=2e-3)
