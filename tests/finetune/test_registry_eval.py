"""Registry (register, promote/rollback, export loadable with from_pretrained, guarded delete) and evaluation
numbers on fixtures with known answers."""

from __future__ import annotations

import math
import zipfile

import numpy as np
import pytest

from aigc_core.errors import ConflictError, NotFoundError, UserInputError
from aigc_core.finetune import registry
from aigc_core.finetune.evaluate import classification_report, perplexity_from_losses, softmax
from aigc_core.finetune.params import CLASSIFIER_TASK, ClassifierJobParams


@pytest.fixture()
def tiny_classifier(ft_bert_dir, tmp_path):
    """A saved 2-label classifier folder (random head)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(
        str(ft_bert_dir), num_labels=2, id2label={0: "neg", 1: "pos"}, label2id={"neg": 0, "pos": 1}
    )
    return model, AutoTokenizer.from_pretrained(str(ft_bert_dir))


def _register(model_tok, name: str, parent: str | None = None) -> registry.ModelVersionInfo:
    model, tok = model_tok
    vid, target = registry.new_version_dir()
    model.save_pretrained(str(target))
    tok.save_pretrained(str(target))
    return registry.register_version(
        version_id=vid,
        path=target,
        task=CLASSIFIER_TASK,
        name=name,
        base_model="tiny",
        params=ClassifierJobParams().stored(),
        metrics={"test": {"macro_f1": 0.5, "accuracy": 0.5}},
        parent_id=parent,
    )


def test_promote_and_rollback_per_task(settings, tiny_classifier) -> None:
    a = _register(tiny_classifier, "a")
    b = _register(tiny_classifier, "b")
    assert registry.promoted(CLASSIFIER_TASK) is None
    with pytest.raises(NotFoundError):
        registry.resolve_ref("registry:promoted", CLASSIFIER_TASK)
    registry.promote(a.id)
    registry.promote(b.id)
    assert registry.promoted(CLASSIFIER_TASK).id == b.id
    assert registry.resolve_ref("registry:promoted", CLASSIFIER_TASK).id == b.id
    assert registry.resolve_ref(a.ref, CLASSIFIER_TASK).id == a.id
    assert [v.promoted for v in registry.list_versions(CLASSIFIER_TASK)].count(True) == 1
    assert registry.rollback(CLASSIFIER_TASK).id == a.id
    assert registry.promoted(CLASSIFIER_TASK).id == a.id
    assert registry.rollback(CLASSIFIER_TASK).id == b.id  # rolling back again returns to the later one


def test_rollback_without_history_is_a_conflict(settings, tiny_classifier) -> None:
    _register(tiny_classifier, "only")
    with pytest.raises(ConflictError):
        registry.rollback(CLASSIFIER_TASK)


def test_export_folder_and_zip_load_with_plain_from_pretrained(settings, tiny_classifier, tmp_path) -> None:
    from transformers import AutoModelForSequenceClassification

    v = _register(tiny_classifier, "exported")
    folder = registry.export_version(v.id, fmt="folder")
    model = AutoModelForSequenceClassification.from_pretrained(str(folder))
    assert model.config.id2label == {0: "neg", 1: "pos"}
    assert (folder / "README.md").read_text().startswith("---")
    archive = registry.export_version(v.id, fmt="zip")
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp_path / "unzipped")
    again = AutoModelForSequenceClassification.from_pretrained(str(tmp_path / "unzipped"))
    assert again.num_labels == 2
    with pytest.raises(UserInputError):
        registry.export_version(v.id, fmt="tar")


def test_lora_lm_export_merges_into_plain_weights(settings, ft_llama_dir, tmp_path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(str(ft_llama_dir)), LoraConfig(r=2, target_modules=["q_proj", "v_proj"])
    )
    vid, target = registry.new_version_dir()
    model.save_pretrained(str(target / "adapter"))
    AutoTokenizer.from_pretrained(str(ft_llama_dir)).save_pretrained(str(target))
    info = registry.register_version(
        version_id=vid, path=target, task="text-generation", name="voice", base_model="tiny", params={},
        metrics={}, meta={"base_path": str(ft_llama_dir)},
    )  # fmt: skip
    assert info.has_adapter
    out = registry.export_version(vid, merge=True)
    merged = AutoModelForCausalLM.from_pretrained(str(out))
    assert type(merged).__name__ == "LlamaForCausalLM" and not (out / "adapter_config.json").exists()
    adapter_only = registry.export_version(vid, merge=False, target=tmp_path / "adapter_export")
    assert (adapter_only / "adapter_config.json").is_file()


def test_delete_checks_what_uses_the_version(settings, tiny_classifier) -> None:
    from aigc_core.store import models as m
    from aigc_core.store.db import session_scope

    parent = _register(tiny_classifier, "parent")
    child = _register(tiny_classifier, "child", parent=parent.id)
    registry.promote(child.id)
    with session_scope() as s:
        s.add(m.Monitor(name="brand watch", model=child.ref))
    with pytest.raises(ConflictError, match="continued from it"):
        registry.delete_version(parent.id)
    used = registry.usages(child.id)
    assert any("promoted" in u for u in used) and any("brand watch" in u for u in used)
    with pytest.raises(ConflictError, match="brand watch"):
        registry.delete_version(child.id)
    with session_scope() as s:
        s.query(m.Monitor).delete()
    registry.unpromote(CLASSIFIER_TASK)
    registry.delete_version(child.id)
    assert not registry.Path(child.path).exists()
    registry.delete_version(parent.id)
    assert registry.list_versions() == []
    with pytest.raises(NotFoundError):
        registry.get_version(parent.id)


def test_register_refuses_an_empty_folder(settings, tmp_path) -> None:
    with pytest.raises(UserInputError, match="holds no model"):
        registry.register_version(
            version_id="x", path=tmp_path, task=CLASSIFIER_TASK, name="x", base_model="", params={}, metrics={}
        )


def test_classification_report_known_answers() -> None:
    # true:  a a a b b c ; pred: a a b b c c
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 1, 1, 2, 2]
    probs = np.array(
        [[0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.1, 0.8, 0.1], [0.1, 0.2, 0.7], [0.1, 0.1, 0.8]]
    )
    r = classification_report(y_true, y_pred, ["a", "b", "c"], probs=probs, texts=list("uvwxyz"))
    assert r.accuracy == pytest.approx(4 / 6)
    assert r.per_class["a"] == {
        "precision": 1.0,
        "recall": pytest.approx(2 / 3),
        "f1": pytest.approx(0.8),
        "support": 3,
    }
    assert r.per_class["b"]["precision"] == pytest.approx(0.5) and r.per_class["b"]["recall"] == pytest.approx(0.5)
    assert r.per_class["c"]["f1"] == pytest.approx(2 / 3)
    assert r.macro_f1 == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert r.confusion == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    # worst: the wrong predictions, most confident first (0.7 on row 4, then 0.6 on row 2)
    assert [(w["index"], w["text"], w["true"], w["predicted"]) for w in r.worst] == [
        (4, "y", "b", "c"),
        (2, "w", "a", "b"),
    ]
    assert r.worst[0]["confidence"] == pytest.approx(0.7)


def test_perplexity_and_softmax_known_answers() -> None:
    assert perplexity_from_losses(2 * math.log(4.0), 2) == pytest.approx(4.0)
    assert math.isinf(perplexity_from_losses(1.0, 0))
    p = softmax(np.array([[0.0, math.log(3.0)]]))
    assert p.tolist()[0] == pytest.approx([0.25, 0.75])


def test_lm_perplexity_of_a_uniform_model_is_the_vocab_size(ft_llama_dir) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from aigc_core.finetune.evaluate import lm_perplexity

    model = AutoModelForCausalLM.from_pretrained(str(ft_llama_dir))
    with torch.no_grad():
        model.lm_head.weight.zero_()  # every token equally likely
    feats = [{"input_ids": [5, 9, 10, 11], "attention_mask": [1] * 4, "labels": [-100, -100, 10, 11]}]
    assert lm_perplexity(model, feats) == pytest.approx(model.config.vocab_size, rel=1e-4)


def test_synthetic_proposals_fill_small_classes_and_are_marked() -> None:
    import pandas as pd

    from aigc_core.finetune.synthetic import parse_lines, plan_synthetic, propose_synthetic

    df = pd.DataFrame({"text": [f"good thing {i}" for i in range(12)] + ["bad one", "bad two"],
                       "label": ["pos"] * 12 + ["neg"] * 2})  # fmt: skip
    plan = plan_synthetic(df, "label", target_per_class=12)
    assert plan.needed == {"neg": 10}
    prompts = []

    def fake_lm(prompt: str) -> str:
        prompts.append(prompt)
        n = len(prompts)
        return "\n".join(f"{k}. awful experience number {n}-{k}" for k in range(1, 6)) + "\n- bad one"

    out = propose_synthetic(df, "text", "label", generate=fake_lm, target_per_class=12)
    assert len(out) == 10 and set(out["label"]) == {"neg"} and out["synthetic"].all()
    assert "bad one" not in set(out["text"])  # duplicates of real rows are dropped
    assert "labelled 'neg'" in prompts[0]
    assert parse_lines("Sure!\n1) first proposal here\n* second proposal here\nok") == [
        "first proposal here",
        "second proposal here",
    ]


def test_reviewed_synthetic_rows_become_a_synthetic_dataset_version(settings, sentiment_frames) -> None:
    from aigc_core import data
    from aigc_core.finetune.synthetic import save_synthetic_version

    train, val, test = sentiment_frames
    ds = data.create_dataset("small")
    v = data.save_version(ds.id, kind="split", splits={"train": train, "validation": val, "test": test},
                          roles={"text": "text", "label": "label"})  # fmt: skip
    new_id = save_synthetic_version(v.id, [{"text": "awful awful", "label": "negative"}] * 2)
    info = data.get_version(new_id)
    assert info.kind == "synthetic" and info.parent_id == v.id and info.roles["text"] == "text"
    new_train = data.load_version(new_id, split="train")
    assert len(new_train) == len(train) + 2 and int(new_train["synthetic"].sum()) == 2
    assert "synthetic" in data.load_version(new_id, split="test").columns
    with pytest.raises(UserInputError):
        save_synthetic_version(v.id, [])
