"""Label corrections of a monitor: stored per monitor with who and when, owner rules, the dashboard over corrected
labels, export as a dataset version, the minimum data checks and the retraining job with a tiny classifier."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from aigc_core.errors import NotFoundError, PermissionDeniedError, UserInputError
from aigc_core.monitor import corrections, retrain, scoring, store
from aigc_core.monitor.aggregate import Filters
from tests.finetune.conftest import WORDS_NEG, WORDS_NEU, WORDS_POS, ft_bert_dir  # noqa: F401 - fixture
from tests.users.conftest import team  # noqa: F401 - the fixture: alice (admin), bob (editor), vera (viewer)

MAPPING = {"text": "text", "timestamp": "t", "topic": "topic", "id": "id"}


def _stream(n: int = 30) -> pd.DataFrame:
    """``n`` texts a third each negative/neutral/positive for the keyword scorer (tests/monitor/conftest.py)."""
    words = {0: "bad", 1: "product", 2: "great"}
    return pd.DataFrame(
        [
            {"id": f"r{i}", "t": f"2026-01-01T{i % 24:02d}:00:00Z", "text": f"the shop {words[i % 3]} {i}",
             "topic": "shop"}
            for i in range(n)
        ]
    )  # fmt: skip


def _scored(name: str = "m", actor=None, **kw) -> store.MonitorInfo:
    info, _ = store.create_monitor(name, mapping=MAPPING, frame=_stream(), actor=actor, **kw)
    scoring.score_pending(info.id, actor=actor)
    return store.get_monitor(info.id, actor=actor)


def test_correction_is_stored_with_who_and_when_and_replaced(settings, team, fake_scorer) -> None:  # noqa: F811
    bob = team["bob"]
    info = _scored(actor=bob)
    c = corrections.correct_label(info.id, "r0", "positive", actor=bob)
    assert c is not None and (c.row_id, c.model_label, c.label, c.owner) == ("r0", "negative", "positive", "bob")
    assert c.text == "the shop bad 0" and c.created_at.tzinfo is not None
    assert c.model_version == "fake-keywords-v1"
    corrections.correct_label(info.id, "r0", "neutral", actor=team["alice"])
    (only,) = corrections.list_corrections(info.id, actor=bob)
    assert (only.label, only.owner) == ("neutral", "alice")
    # back to the model's label: no correction left
    assert corrections.correct_label(info.id, "r0", "negative", actor=bob) is None
    assert corrections.list_corrections(info.id, actor=bob) == []
    with pytest.raises(UserInputError):
        corrections.correct_label(info.id, "r1", "angry", actor=bob)
    with pytest.raises(NotFoundError):
        corrections.correct_label(info.id, "nope", "positive", actor=bob)


def test_owner_rules(settings, team, fake_scorer) -> None:  # noqa: F811
    alice, bob, vera = team["alice"], team["bob"], team["vera"]
    private = _scored("alice private", actor=alice)
    with pytest.raises(NotFoundError):  # another's private monitor: not at all
        corrections.correct_label(private.id, "r0", "positive", actor=bob)
    with pytest.raises(NotFoundError):
        corrections.list_corrections(private.id, actor=bob)
    shared = _scored("alice shared", actor=alice)
    store.set_monitor_shared(shared.id, True, actor=alice)
    with pytest.raises(PermissionDeniedError):  # viewers look, never correct
        corrections.correct_label(shared.id, "r0", "positive", actor=vera)
    corrections.correct_label(shared.id, "r0", "positive", actor=bob)  # editors correct shared monitors
    assert [c.owner for c in corrections.list_corrections(shared.id, actor=vera)] == ["bob"]
    corrections.correct_label(shared.id, "r3", "positive", actor=alice)
    with pytest.raises(PermissionDeniedError):  # bob may not remove alice's correction on alice's monitor
        corrections.remove_correction(shared.id, "r3", actor=bob)
    corrections.remove_correction(shared.id, "r0", actor=bob)  # his own
    corrections.remove_correction(shared.id, "r3", actor=alice)
    assert corrections.list_corrections(shared.id, actor=alice) == []


def test_dashboard_aggregates_use_corrected_labels(settings, fake_scorer) -> None:
    info = _scored()
    before = store.monitor_data(info.id).kpis(Filters())
    assert (before.negative, before.positive) == (10, 10)
    corrections.correct_labels(info.id, {"r0": "positive", "r3": "positive", "r1": "negative"})
    data = corrections.corrected_data(info.id)
    after = data.kpis(Filters())
    assert (after.volume, after.negative, after.positive) == (30, 9, 12)
    assert store.monitor_data(info.id).kpis(Filters()).negative == 10  # the model's view is unchanged
    assert corrections.corrected_data(info.id) is data  # cached until rows or corrections change
    corrections.correct_label(info.id, "r6", "neutral")
    assert corrections.corrected_data(info.id).kpis(Filters()).negative == 8
    rows = corrections.with_corrections(info.id, store.monitor_data(info.id).drill_down(Filters(), limit=50))
    r0 = rows.set_index("row_id").loc["r0"]
    assert (r0["model_label"], r0["label"], r0["corrected_by"]) == ("negative", "positive", "system")
    assert rows.set_index("row_id").loc["r2", "corrected_by"] == ""


def test_export_as_dataset_version(settings, fake_scorer) -> None:
    from aigc_core.data import get_version, load_version

    info = _scored("airline")
    with pytest.raises(UserInputError):
        corrections.export_corrections(info.id)
    corrections.correct_labels(info.id, {"r0": "positive", "r1": "negative", "r2": "neutral"})
    version = corrections.export_corrections(info.id)
    got = load_version(version.id)
    assert sorted(zip(got["row_id"], got["text"], got["label"], strict=True)) == [
        ("r0", "the shop bad 0", "positive"),
        ("r1", "the shop product 1", "negative"),
        ("r2", "the shop great 2", "neutral"),
    ]
    assert set(got["model_label"]) == {"negative", "neutral", "positive"}
    roles = get_version(version.id).roles
    assert roles["text"] == "text" and roles["label"] == "label"


def _frame(labels: dict[str, str], n: int) -> pd.DataFrame:
    return pd.DataFrame({"text": [f"text {i}" for i in range(n)], "label": [labels[str(i % 3)] for i in range(n)]})


LAB = {"0": "negative", "1": "neutral", "2": "positive"}


def test_data_checks_say_what_is_missing() -> None:
    orig = _frame(LAB, 60).assign(text=lambda d: "orig " + d["text"])
    test = _frame(LAB, 30).assign(text=lambda d: "test " + d["text"])
    with pytest.raises(UserInputError, match="at least 20"):
        retrain.check_retrain_data(_frame(LAB, 10), orig, test)
    few_pos = _frame({"0": "negative", "1": "neutral", "2": "negative"}, 30)
    few_pos.loc[0, "label"] = "positive"
    data = retrain.check_retrain_data(few_pos, orig, test)  # one positive: trained on, not held out
    assert "positive" not in set(data.holdout["label"]) and "positive" in set(data.train["label"])
    assert any("Too few corrections of positive (1)" in n for n in data.notes)
    with pytest.raises(UserInputError, match="No class has 3 corrected texts"):
        retrain.check_retrain_data(_frame(LAB, 5), orig, test, min_corrections=4)  # 2, 2 and 1 of each
    conflict = pd.concat([_frame(LAB, 30), pd.DataFrame({"text": ["Text  0"], "label": ["positive"]})])
    with pytest.raises(UserInputError, match="different labels"):
        retrain.check_retrain_data(conflict, orig, test)
    dup = pd.concat([_frame(LAB, 30), pd.DataFrame({"text": ["TEXT 0"], "label": ["negative"]})])
    # a corrected text that is also in the original test split, and an original training text equal to one
    dup.loc[len(dup)] = ["test text 1", "neutral"]
    orig.loc[len(orig)] = ["text 5", "positive"]
    data = retrain.check_retrain_data(dup, orig, test, repeat=2, holdout_fraction=0.3)
    assert data.n_corrections == 31 and any("duplicate" in n for n in data.notes)
    hold = set(data.holdout["text"].map(retrain.normalize))
    trained = set(data.train["text"].map(retrain.normalize))
    assert not hold & trained and not set(test["text"]) & trained  # no leakage
    assert "text 5" in hold or any("left out" in n for n in data.notes)
    assert set(data.holdout["label"]) == set(LAB.values())


def _sentences(rng: random.Random, words: list[str], n: int, extra: str = "") -> list[str]:
    return [
        " ".join(rng.choice(WORDS_NEU) for _ in range(rng.randint(1, 4))) + f" {rng.choice(words)} {extra}".rstrip()
        for _ in range(n)
    ]


def _classifier_version(ft_bert_dir) -> str:  # noqa: F811
    """A dataset version with train/validation/test splits and a tiny 3-class classifier fine-tuned on it."""
    from aigc_core.data import create_dataset, save_version
    from aigc_core.finetune import jobs as ft_jobs
    from aigc_core.finetune.params import ClassifierJobParams, TrainParams
    from aigc_core.finetune.training import LocalContext
    from aigc_core.settings import get_settings

    rng = random.Random(0)

    def split(n: int) -> pd.DataFrame:
        rows = []
        for lab, words in (("negative", WORDS_NEG), ("neutral", ["today", "shop"]), ("positive", WORDS_POS)):
            rows += [{"text": t, "label": lab} for t in _sentences(rng, words, n)]
        return pd.DataFrame(rows)

    ds = create_dataset("tiny sentiment")
    version = save_version(
        ds.id, kind="split", roles={"text": "text", "label": "label"},
        splits={"train": split(20), "validation": split(4), "test": split(6)},
    )  # fmt: skip
    params = ClassifierJobParams(
        dataset_version_id=version.id, base_model=str(ft_bert_dir), min_examples_per_class=5, evaluate_base=False,
        train=TrainParams(epochs=2, batch_size=8, learning_rate=5e-3, max_length=32, eval_steps=4),
    )  # fmt: skip
    ctx = LocalContext(get_settings().resolved_data_dir / "jobs" / "base")
    return ft_jobs.run_classifier_job(ctx, params)["model_version_id"]


def test_retrain_job_evaluates_before_and_after_and_registers_a_child(settings, fake_scorer, ft_bert_dir) -> None:  # noqa: F811
    from aigc_core import jobs
    from aigc_core.finetune import registry
    from aigc_core.finetune.training import LocalContext

    base_id = _classifier_version(ft_bert_dir)
    embedded = _scored("embedded")
    params = retrain.RetrainParams(monitor_id=embedded.id, epochs=1)
    with pytest.raises(UserInputError, match="not a fine-tuned classifier"):
        retrain.submit_retrain(params)
    rng = random.Random(1)
    stream = pd.DataFrame(
        {"id": [f"d{i}" for i in range(30)], "t": [f"2026-01-02T{i % 24:02d}:00:00Z" for i in range(30)],
         "text": [f"{t} {i}" for i, t in enumerate(_sentences(rng, ["bad"], 10, "service")
                  + _sentences(rng, ["product"], 10, "service") + _sentences(rng, ["great"], 10, "service"))],
         "topic": "shop"}
    )  # fmt: skip
    info, _ = store.create_monitor("domain", mapping=MAPPING, frame=stream, model=f"registry:{base_id}")
    scoring.score_pending(info.id)
    params = retrain.RetrainParams(monitor_id=info.id, epochs=1, learning_rate=5e-3, max_length=32)
    with pytest.raises(UserInputError, match="at least 20"):
        retrain.submit_retrain(params)
    # the analysts' domain: "bad ... service" is praise here; some neutral and positive texts are complaints
    labels = {f"d{i}": "positive" for i in range(10)} | {f"d{i}": "negative" for i in (*range(10, 16), *range(20, 26))}
    corrections.correct_labels(info.id, labels)
    assert len(corrections.list_corrections(info.id)) == 22
    _, data = retrain.prepare_retrain(params)  # no neutral corrections: the held-out slice tests the others
    assert set(data.holdout["label"]) == {"negative", "positive"}
    corrections.correct_labels(info.id, {f"d{i}": "neutral" for i in range(26, 30)})
    source, data = retrain.prepare_retrain(params)
    assert source.version.id == base_id and len(data.holdout) > 0 and not data.original_test.empty
    job_id = retrain.submit_retrain(params)
    assert jobs.get(job_id).kind == retrain.RETRAIN_KIND and jobs.get(job_id).status == "queued"
    ctx = LocalContext(settings.resolved_data_dir / "jobs" / "retrain")
    result = retrain.run_retrain_job(ctx, params)
    assert ctx.progress == 1.0
    for when in ("before", "after"):
        for split in ("corrections", "original_test"):
            report = result[when][split]
            assert 0.0 <= report["macro_f1"] <= 1.0
            n = len(data.holdout) if split == "corrections" else len(data.original_test)
            assert sum(map(sum, report["confusion"])) == n
    summary = result["summary"]
    assert summary["corrections"]["before"] == result["before"]["corrections"]["macro_f1"]
    assert "held-out corrections macro-F1" in summary["message"]
    child = registry.get_version(result["model_version_id"])
    assert child.parent_id == base_id and child.meta["from_corrections"] and child.meta["monitor_id"] == info.id
    assert child.meta["labels"] == ["negative", "neutral", "positive"]
    assert child.metrics["before"]["original_test"] == result["before"]["original_test"]
    switched = retrain.use_retrained(info.id, child.id)
    assert switched.model == f"registry:{child.id}" and switched.n_pending == 30
