"""The image-upscaling task: off by default (Lanczos only), `auto` is the catalog's x4 upscaler, folders and hub ids
are an admin's pick, and the manager loads a StableDiffusionUpscalePipeline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from aigc_core.errors import ModelUnavailableError, PermissionDeniedError
from aigc_core.models import catalog, task_table
from aigc_core.settings import reset_settings


def test_task_setting_and_catalog_entry() -> None:
    assert task_table.normalize_task("upscale") == "image-upscaling"
    assert task_table.setting_env("image-upscaling") == "AIGC_UPSCALE_MODEL"
    spec = task_table.get_spec("sd-x4-upscaler", "image-upscaling")
    assert spec is not None and spec.hub_id == "stabilityai/stable-diffusion-x4-upscaler"
    assert spec.revision == "main" and spec.licence == "CreativeML Open RAIL++-M"
    assert task_table.HUB_DEFAULT["image-upscaling"] == "sd-x4-upscaler"
    assert task_table.EMBEDDED_DEFAULT["image-upscaling"] is None
    assert task_table.default_value("image-upscaling") == "off" and task_table.default_value("lm") == "auto"


def test_off_by_default_and_auto_offline(settings, hub_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert catalog.configured_value("image-upscaling") == "off"
    assert not catalog.model_configured("image-upscaling") and catalog.model_configured("text-to-image")
    assert catalog.value_kind("image-upscaling", "off") == "off"
    assert catalog.value_kind("text-generation", "off") == "unknown"  # only optional tasks know `off`
    with pytest.raises(ModelUnavailableError) as err:
        catalog.resolve("image-upscaling")
    assert "AIGC_UPSCALE_MODEL" in err.value.message and "sd-x4-upscaler" in (err.value.hint or "")
    monkeypatch.setenv("AIGC_UPSCALE_MODEL", "auto")
    reset_settings()
    assert catalog.model_configured("image-upscaling")
    with pytest.raises(ModelUnavailableError) as off:
        catalog.resolve("image-upscaling")
    assert "stabilityai/stable-diffusion-x4-upscaler" in off.value.message and "offline" in off.value.message


def test_auto_uses_the_cached_hub_upscaler(
    settings,
    cache_hub_model: Callable[..., Path],
    tiny_upscale_pipeline_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index = tmp_path / "index"
    index.mkdir()
    (index / "model_index.json").write_bytes((tiny_upscale_pipeline_dir / "model_index.json").read_bytes())
    snap = cache_hub_model("stabilityai/stable-diffusion-x4-upscaler", index)
    monkeypatch.setenv("AIGC_UPSCALE_MODEL", "auto")
    reset_settings()
    resolved = catalog.resolve("image-upscaling")
    assert resolved.key == "sd-x4-upscaler" and resolved.local_path == snap


def test_a_folder_is_an_admins_pick_and_the_manager_loads_it(
    settings, tiny_upscale_pipeline_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aigc_core.models.manager import get_manager, task_backends
    from aigc_core.users.roles import Actor, acting_as

    rows = {r.task: r for r in task_backends()}
    assert rows["image-upscaling"].model == "off" and rows["image-upscaling"].healthy
    with acting_as(Actor("ann", "editor")), pytest.raises(PermissionDeniedError):
        catalog.resolve("image-upscaling", str(tiny_upscale_pipeline_dir))
    monkeypatch.setenv("AIGC_UPSCALE_MODEL", str(tiny_upscale_pipeline_dir))  # the operator's setting: allowed
    reset_settings()
    with acting_as(Actor("ann", "editor")):
        entry = get_manager().load("upscale")
    assert type(entry.pipeline).__name__ == "StableDiffusionUpscalePipeline" and entry.task == "image-upscaling"
    row = {r.task: r for r in task_backends()}["image-upscaling"]
    assert row.healthy and row.backend == "diffusers (in the app)" and row.health == "loaded"
