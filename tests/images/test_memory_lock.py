"""Memory options (VAE tiling, attention slicing) live on the shared pipeline: they change, and the pipeline runs
with them, only under the pipeline's own lock, so one request never switches them during another's run."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from aigc_core.images.request import ImageRequest

RUN_S = 0.4  # how long the fake pipeline "denoises": long enough for a second request to try to interfere


class _Vae:
    def __init__(self) -> None:
        self.use_tiling = False

    def enable_tiling(self) -> None:
        self.use_tiling = True

    def disable_tiling(self) -> None:
        self.use_tiling = False


class RecordingPipe:
    """A pipeline whose call records the VAE tiling at its start and at its end, sleeping in between."""

    def __init__(self) -> None:
        self.vae = _Vae()
        self.unet = SimpleNamespace()
        self.runs: list[tuple[int, bool, bool]] = []  # (width, tiling at start, tiling at end)
        self.running = threading.Event()

    def __call__(self, *, width: int, height: int, num_images_per_prompt: int, **_: Any) -> Any:
        from PIL import Image

        at_start = self.vae.use_tiling
        self.running.set()
        time.sleep(RUN_S)
        self.runs.append((width, at_start, self.vae.use_tiling))
        return SimpleNamespace(images=[Image.new("RGB", (8, 8))] * num_images_per_prompt)


@pytest.fixture()
def fake_loaded(settings, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A LoadedPipeline around RecordingPipe (native 512, CPU), run through the real generate_images."""
    from aigc_core.images import text2img
    from aigc_core.images.loader import LoadedPipeline
    from aigc_core.store import init_store

    init_store()  # the prompt's brand-kit check reads the store
    monkeypatch.setattr(text2img, "pipeline_for", lambda loaded, scheduler: loaded.pipe)
    return LoadedPipeline(RecordingPipe(), "fake", "r", "sd", 512, False, "cpu", "float32")


LARGE, SMALL = 1536, 512  # 1536×1536 needs VAE tiling on a 512 model; 512×512 turns it off again


@pytest.mark.parametrize("first,second", [(LARGE, SMALL), (SMALL, LARGE)])
def test_each_run_keeps_its_own_tiling(fake_loaded: Any, first: int, second: int) -> None:
    from aigc_core.images.generate import generate_images

    pipe = fake_loaded.pipe
    pipe.vae.use_tiling = first == SMALL  # start from the state the first request must change
    errors: list[BaseException] = []

    def run(size: int) -> None:
        try:
            req = ImageRequest(prompt="a cup", width=size, height=size, steps=1, guidance=0.0, seed=1, save=False)
            generate_images(req, loaded=fake_loaded)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    a = threading.Thread(target=run, args=(first,))
    a.start()
    assert pipe.running.wait(10), "the first run never started"
    b = threading.Thread(target=run, args=(second,))  # asks for the other tiling while the first one runs
    b.start()
    a.join(20)
    b.join(20)
    assert not errors, errors
    assert [r[0] for r in pipe.runs] == [first, second]  # the second waited for the first
    for width, at_start, at_end in pipe.runs:
        want = width == LARGE
        assert (at_start, at_end) == (want, want), f"{width}px run saw tiling {at_start} -> {at_end}"


def test_prepare_memory_waits_for_the_pipeline_lock(fake_loaded: Any) -> None:
    from aigc_core.images.memory import pipeline_lock, prepare_memory

    done = threading.Event()

    def change() -> None:
        prepare_memory(fake_loaded, LARGE, LARGE, 1, 0.0, free_bytes=0)
        done.set()

    with pipeline_lock(fake_loaded.pipe):
        t = threading.Thread(target=change)
        t.start()
        assert not done.wait(0.3), "tiling was changed while another run held the pipeline"
        assert not fake_loaded.pipe.vae.use_tiling
    t.join(5)
    assert done.is_set() and fake_loaded.pipe.vae.use_tiling


def test_one_lock_per_pipeline_shared_by_its_wrappers() -> None:
    from aigc_core.images.loader import LoadedPipeline
    from aigc_core.images.memory import pipeline_lock

    pipe, other = RecordingPipe(), RecordingPipe()
    a = LoadedPipeline(pipe, "a", "", "sd", 512, True, "cpu", "float32")
    b = LoadedPipeline(pipe, "b", "", "sd", 512, True, "cpu", "float32")
    assert a.lock is b.lock is pipeline_lock(pipe)
    assert pipeline_lock(other) is not a.lock
    with a.lock, b.lock:  # re-entrant: a run may set options while it holds the lock
        pass
