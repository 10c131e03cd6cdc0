"""Sentiment classifiers load through the model manager and follow the engine's model rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from aigc_core.errors import ModelUnavailableError, PermissionDeniedError
from aigc_core.models.manager import get_manager
from aigc_core.sentiment import scoring
from aigc_core.sentiment.scoring import load_model, score_texts
from aigc_core.users.roles import SYSTEM, Actor, acting_as

EDITOR = Actor("bob", "editor")
ADMIN = Actor("ann", "admin")
TEXTS = ["i love this", "bad", "meeting tomorrow"]


def test_classifier_is_listed_loaded_once_per_mapping_and_unloaded(settings, tiny_bert_classifier_dir: Path):
    manager = get_manager()
    first = score_texts(TEXTS, model=str(tiny_bert_classifier_dir))
    rows = manager.loaded()
    assert [(r.task, r.source) for r in rows] == [("text-classification", str(tiny_bert_classifier_dir.resolve()))]
    collapsed = score_texts(
        TEXTS,
        model=str(tiny_bert_classifier_dir),
        label_map={"negative": "negative", "neutral": "negative", "positive": "positive"},
    )
    assert manager.load_count == 1 and len(manager.loaded()) == 1  # a label mapping is not a reload
    assert collapsed.label_order == ("negative", "positive")
    assert collapsed.model_version != first.model_version and "|map:" in collapsed.model_version
    np.testing.assert_allclose(collapsed.prob("positive"), first.prob("positive"), atol=1e-5)
    a = load_model(str(tiny_bert_classifier_dir))
    b = load_model(str(tiny_bert_classifier_dir), label_map="negative=neg,neutral=neu,positive=pos")
    assert a.model is b.model  # one set of weights under both wrappers
    assert manager.unload_all() == 1 and manager.loaded() == []
    scoring.clear_model_cache()  # nothing left: a no-op
    score_texts(TEXTS, model=str(tiny_bert_classifier_dir))
    assert manager.load_count == 2 and len(manager.loaded()) == 1
    scoring.clear_model_cache()
    assert manager.loaded() == []


def test_embedded_head_is_managed_too(settings, tiny_head_dir: Path, tiny_encoder_dir: Path, monkeypatch):
    from aigc_core.sentiment import head as head_mod

    monkeypatch.setattr(head_mod, "encoder_dir", lambda: tiny_encoder_dir)
    score_texts(TEXTS, model=str(tiny_head_dir))
    score_texts(TEXTS, model=str(tiny_head_dir), label_map="negative=negative")  # ignored by a head: no reload
    rows = get_manager().loaded()
    assert len(rows) == 1 and rows[0].task == "text-classification" and get_manager().load_count == 1


def test_only_admins_score_with_a_folder_or_hub_id(settings, tiny_bert_classifier_dir: Path):
    with acting_as(EDITOR), pytest.raises(PermissionDeniedError, match="Only an admin"):
        score_texts(TEXTS, model=str(tiny_bert_classifier_dir))
    with acting_as(EDITOR), pytest.raises(PermissionDeniedError):
        score_texts(TEXTS, model="someorg/some-classifier")
    assert get_manager().loaded() == []
    for who in (SYSTEM, ADMIN):
        with acting_as(who):
            assert score_texts(TEXTS, model=str(tiny_bert_classifier_dir)).n_scored == len(TEXTS)


def test_editors_score_with_registry_versions_they_may_read(settings, tiny_bert_classifier_dir: Path):
    from aigc_core.errors import NotFoundError
    from aigc_core.store import ModelVersion, session_scope

    with session_scope() as s:
        s.add(ModelVersion(id="mine", task="text-classification", name="m", path=str(tiny_bert_classifier_dir)))
        s.add(
            ModelVersion(
                id="alices", task="text-classification", name="a", path=str(tiny_bert_classifier_dir), owner="alice"
            )
        )
        s.get(ModelVersion, "mine").owner = "bob"
    with acting_as(EDITOR):
        assert score_texts(TEXTS, model="registry:mine").model_version == "registry:mine"
        with pytest.raises(NotFoundError):  # another user's private version reads as missing
            score_texts(TEXTS, model="registry:alices")


def test_pickle_only_classifier_is_refused(settings, tiny_bert_classifier_dir: Path, tmp_path: Path):
    import torch
    from safetensors.torch import load_file

    folder = tmp_path / "pickle_classifier"
    shutil.copytree(tiny_bert_classifier_dir, folder)
    weights = folder / "model.safetensors"
    torch.save(load_file(str(weights)), folder / "pytorch_model.bin")
    weights.unlink()
    with pytest.raises(ModelUnavailableError, match="only safetensors weights are loaded"):
        score_texts(TEXTS, model=str(folder))
    assert get_manager().loaded() == []


def test_the_memory_budget_evicts_a_scoring_classifier_and_scoring_reloads_it(
    settings, tiny_bert_classifier_dir: Path, tiny_causal_lm_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aigc_core.settings import reset_settings

    manager = get_manager()
    lm_gb = manager.load("text-generation", str(tiny_causal_lm_dir)).bytes / 1024**3
    manager.unload_all()
    first = score_texts(TEXTS, model=str(tiny_bert_classifier_dir))
    (clf,) = manager.loaded()
    budget = 1.05 * max(lm_gb, clf.size_gb)
    assert budget < lm_gb + clf.size_gb  # room for one of the two, not both
    monkeypatch.setenv("AIGC_MODEL_MEMORY_BUDGET_GB", str(budget))
    reset_settings()
    lm = manager.load("text-generation", str(tiny_causal_lm_dir))
    assert [r.id for r in manager.loaded()] == [lm.id]  # the classifier was evicted, not kept beside the budget
    again = score_texts(TEXTS, model=str(tiny_bert_classifier_dir))
    assert manager.load_count == 4 and [r.task for r in manager.loaded()] == ["text-classification"]
    np.testing.assert_allclose(again.prob("positive"), first.prob("positive"), atol=1e-6)
