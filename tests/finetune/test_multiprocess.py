"""Fine-tuning on 2 processes on the CPU (``torch.distributed.run``, gloo) with the tiny models: the run completes,
rank 0 alone writes checkpoints, metrics and the model version (which loads with plain ``from_pretrained``), a
failure in one rank fails the run with that rank's error, and a cancel stops every process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from aigc_core.errors import UserInputError
from aigc_core.finetune import jobs, multiprocess, registry
from aigc_core.finetune.params import CausalLMJobParams, ClassifierJobParams, LoraParams, TrainParams
from aigc_core.finetune.training import LocalContext, read_metrics

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def versions(settings, sentiment_frames, brand_frames) -> dict[str, str]:
    """Dataset versions in the store (the ranks are separate processes: they read them from there)."""
    from aigc_core import data

    out = {}
    for name, frames, roles in (
        ("sent", sentiment_frames, {"text": "text", "label": "label"}),
        ("brand", brand_frames, {"text": "copy"}),
    ):
        ds = data.create_dataset(f"{name} multiprocess")
        train, val, test = frames
        splits = {"train": train, "validation": val, "test": test}
        out[name] = data.save_version(ds.id, kind="split", splits=splits, roles=roles).id
    return out


def _clf(version_id: str, base: Path, **train) -> ClassifierJobParams:
    tp = {"max_steps": 4, "batch_size": 8, "learning_rate": 5e-3, "max_length": 32, "eval_steps": 4}
    tp.update(train)
    return ClassifierJobParams(
        dataset_version_id=version_id, base_model=str(base), min_examples_per_class=5, evaluate_base=False,
        processes=2, name="two ranks", train=TrainParams(**tp),
    )  # fmt: skip


def _hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_trainer: str) -> None:
    """In rank 1 only, replace the trainer by ``run_trainer`` (a sitecustomize on PYTHONPATH, loaded by every Python
    process the run starts, patches it before the rank imports the trainers)."""
    hook = tmp_path / "hook"
    hook.mkdir()
    code = textwrap.dedent(
        """
        import os
        import sys

        if os.environ.get("RANK") == "1":
            sys.path.insert(0, ROOT)
            import aigc_core.finetune.training as training

            def run_trainer(*args, **kwargs):
                BODY

            training.run_trainer = run_trainer
        """
    )
    (hook / "sitecustomize.py").write_text(code.replace("ROOT", repr(str(ROOT))).replace("BODY", run_trainer))
    monkeypatch.setenv("PYTHONPATH", str(hook))


def _dead(dist_dir: Path) -> bool:
    """True once the launcher and both ranks of a run have ended (waits up to 10 s)."""
    pids = [int(p.read_text()) for p in dist_dir.glob("rank*.pid")]
    assert len(pids) == 2, "both ranks started"
    pids.append(int((dist_dir / "launcher.pid").read_text()))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                alive.append(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
            except psutil.NoSuchProcess:
                alive.append(False)
        if not any(alive):
            return True
        time.sleep(0.2)
    return False


def test_classifier_on_two_cpu_processes(settings, versions, ft_bert_dir, monkeypatch) -> None:
    from transformers import AutoModelForSequenceClassification

    monkeypatch.setenv("AIGC_DEVICE", "cpu")
    ctx = LocalContext(settings.resolved_data_dir / "jobs" / "mp")
    result = jobs.run_classifier_job(ctx, _clf(versions["sent"], ft_bert_dir))

    assert result.get("model_version_id"), ctx.lines[-30:]
    assert any("training on 2 processes (cpu, gloo)" in line for line in ctx.lines)
    assert ctx.progress == 1.0  # rank 0's progress reached the job
    # one checkpoint, written once: the model and optimizer by rank 0, plus each rank's RNG state for resuming
    ckpts = sorted(p.name for p in (ctx.work_dir / "checkpoints").iterdir())
    assert ckpts == ["checkpoint-4"]
    files = sorted(p.name for p in (ctx.work_dir / "checkpoints" / "checkpoint-4").iterdir())
    assert files.count("model.safetensors") == 1 and "optimizer.pt" in files
    assert {"rng_state_0.pth", "rng_state_1.pth"} <= set(files)
    # metrics only from rank 0: every logged step once
    steps = [(m["step"], tuple(sorted(m))) for m in read_metrics(ctx.work_dir)]
    assert steps and len(steps) == len(set(steps))
    # one version, registered by rank 0, that loads with plain from_pretrained
    versions_ = registry.list_versions()
    assert [v.id for v in versions_] == [result["model_version_id"]]
    info = versions_[0]
    assert info.meta["global_step"] == 4 and info.meta["labels"] == ["negative", "positive"]
    model = AutoModelForSequenceClassification.from_pretrained(info.path)
    assert model.config.id2label == {0: "negative", 1: "positive"}
    assert _dead(ctx.work_dir / multiprocess.DIST_DIR)


def test_lora_lm_on_two_processes_from_the_setting(settings, versions, ft_llama_dir, monkeypatch) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    monkeypatch.setenv("AIGC_DEVICE", "cpu")
    monkeypatch.setenv("AIGC_TRAIN_PROCESSES", "2")
    from aigc_core.settings import reset_settings

    reset_settings()
    params = CausalLMJobParams(
        dataset_version_id=versions["brand"], base_model=str(ft_llama_dir), prompt_column="brief", name="voice x2",
        train=TrainParams(max_steps=2, batch_size=4, learning_rate=1e-2, max_length=48, eval_steps=2),
        lora=LoraParams(enabled=True, r=4, alpha=8), sample_briefs=1,
    )  # fmt: skip
    assert params.processes == 0 and multiprocess.requested_processes(params) == 2
    ctx = LocalContext(settings.resolved_data_dir / "jobs" / "lm")
    result = jobs.run_causal_lm_job(ctx, params)

    assert result.get("model_version_id"), ctx.lines[-30:]
    assert any("training on 2 processes" in line for line in ctx.lines)
    assert result["perplexity"] and result["base_perplexity"]  # rank 0 evaluated before and after training
    info = registry.get_version(result["model_version_id"])
    assert info.has_adapter
    base = AutoModelForCausalLM.from_pretrained(str(ft_llama_dir))
    assert PeftModel.from_pretrained(base, str(Path(info.path) / "adapter")) is not None
    assert sorted(p.name for p in (ctx.work_dir / "checkpoints").iterdir()) == ["checkpoint-2"]


def test_a_failing_rank_fails_the_run_with_its_error(settings, versions, ft_bert_dir, tmp_path, monkeypatch) -> None:
    _hook(tmp_path, monkeypatch, 'raise ValueError("boom on rank 1")')
    monkeypatch.setenv("AIGC_DEVICE", "cpu")
    ctx = LocalContext(settings.resolved_data_dir / "jobs" / "fail")
    with pytest.raises(multiprocess.RankFailedError) as err:
        jobs.run_classifier_job(ctx, _clf(versions["sent"], ft_bert_dir))
    assert "Training process 1 of 2 failed: ValueError: boom on rank 1" in str(err.value)
    assert any(line.startswith("[rank 1]") and "ValueError: boom on rank 1" in line for line in ctx.lines)
    assert registry.list_versions() == []
    assert _dead(ctx.work_dir / multiprocess.DIST_DIR)


def test_cancel_stops_every_rank_with_one_checkpoint(settings, versions, ft_bert_dir, monkeypatch) -> None:
    monkeypatch.setenv("AIGC_DEVICE", "cpu")

    class CancelAfterTwoSteps(LocalContext):
        def should_stop(self) -> bool:
            return any(m.startswith("step 2/") for m in self.messages)

    ctx = CancelAfterTwoSteps(settings.resolved_data_dir / "jobs" / "cancel")
    params = _clf(versions["sent"], ft_bert_dir, max_steps=2000, eval_steps=1000, logging_steps=1)
    result = jobs.run_classifier_job(ctx, params)

    assert result["cancelled"] and result["checkpoint"], ctx.lines[-30:]
    assert result["global_step"] < 2000
    assert sorted(p.name for p in (ctx.work_dir / "checkpoints").iterdir()) == [f"checkpoint-{result['global_step']}"]
    assert registry.list_versions() == []
    assert _dead(ctx.work_dir / multiprocess.DIST_DIR)
    state = json.loads((Path(result["checkpoint"]) / "trainer_state.json").read_text())
    assert state["global_step"] == result["global_step"]
    # a new 2-process job resumes from that checkpoint and finishes
    stop = result["global_step"]
    new = LocalContext(settings.resolved_data_dir / "jobs" / "resumed")
    params = _clf(versions["sent"], ft_bert_dir, max_steps=stop + 2, eval_steps=1000, logging_steps=1)
    done = jobs.run_classifier_job(new, params.model_copy(update={"resume_from_job": "cancel"}))
    assert any(f"resuming from {result['checkpoint']}" in line for line in new.lines), new.lines[-30:]
    assert registry.get_version(done["model_version_id"]).meta["global_step"] == stop + 2


def test_ranks_that_do_not_stop_are_terminated(settings, versions, ft_bert_dir, tmp_path, monkeypatch) -> None:
    _hook(tmp_path, monkeypatch, "import time; time.sleep(600)")  # rank 1 hangs, so rank 0 waits for it
    monkeypatch.setenv("AIGC_DEVICE", "cpu")
    monkeypatch.setenv("AIGC_JOB_CANCEL_GRACE_S", "2")
    from aigc_core.settings import reset_settings

    reset_settings()

    class CancelOnceStarted(LocalContext):
        def should_stop(self) -> bool:
            return len(list((self.work_dir / multiprocess.DIST_DIR).glob("rank*.pid"))) == 2

    ctx = CancelOnceStarted(settings.resolved_data_dir / "jobs" / "hang")
    result = jobs.run_classifier_job(ctx, _clf(versions["sent"], ft_bert_dir))
    assert result["cancelled"] and result["checkpoint"] is None
    assert any("did not stop in time: terminating them" in line for line in ctx.lines)
    assert _dead(ctx.work_dir / multiprocess.DIST_DIR)


def test_ranks_end_when_the_job_process_is_killed(settings, versions, ft_bert_dir, monkeypatch) -> None:
    # What happens when the supervisor SIGKILLs a job process that did not stop: its ranks must not live on.
    monkeypatch.setenv("AIGC_DEVICE", "cpu")
    work = settings.resolved_data_dir / "jobs" / "killed"
    params = _clf(versions["sent"], ft_bert_dir, max_steps=20000, eval_steps=10000, logging_steps=1)
    script = (
        "import sys\n"
        "from aigc_core.finetune import jobs\n"
        "from aigc_core.finetune.params import ClassifierJobParams\n"
        "from aigc_core.finetune.training import LocalContext\n"
        "from aigc_core.users.roles import SYSTEM, set_process_actor\n"
        "set_process_actor(SYSTEM)\n"
        "jobs.run_classifier_job(LocalContext(sys.argv[2]), ClassifierJobParams.model_validate_json(sys.argv[1]))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, params.model_dump_json(), str(work)], cwd=ROOT, env=dict(os.environ)
    )
    events = work / multiprocess.DIST_DIR / multiprocess.EVENTS_FILE
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (events.is_file() and '"step ' in events.read_text()):
        assert proc.poll() is None, "the job process ended before training"
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _dead(work / multiprocess.DIST_DIR)


def test_processes_need_as_many_gpus(monkeypatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(UserInputError, match="needs 2 GPUs; this job sees 1"):
        multiprocess.check_processes(2, "cuda")
    with pytest.raises(UserInputError, match="MPS"):
        multiprocess.check_processes(2, "mps")
    multiprocess.check_processes(2, "cpu")
    multiprocess.check_processes(1, "cuda")


def test_the_form_sends_the_processes(settings, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    from aigc_core.store import models as m
    from aigc_core.store.db import session_scope

    with session_scope() as s:
        d = m.Dataset(name="tweets")
        s.add(d)
        s.flush()
        s.add(
            m.DatasetVersion(
                dataset_id=d.id, version=1, kind="split", path="/nowhere",
                schema={"columns": [{"name": "text"}, {"name": "label"}]},
                roles={"text": "text", "label": "label"}, row_counts={"train": 80, "validation": 10, "test": 10},
            )
        )  # fmt: skip
    seen: dict = {}
    monkeypatch.setattr(jobs, "submit_finetune", lambda params, actor=None: seen.setdefault("p", params) and "j1")
    at = AppTest.from_file(str(ROOT / "pages" / "finetune.py"), default_timeout=60)
    at.run()
    assert at.number_input(key="ft_processes").value == 0
    at.number_input(key="ft_processes").set_value(2).run()
    assert any("Trains on 2 processes" in c.value and "gloo" in c.value for c in at.caption)
    at.button(key="ft_train").click().run()
    assert not at.exception, at.exception
    assert isinstance(seen["p"], ClassifierJobParams) and seen["p"].processes == 2
