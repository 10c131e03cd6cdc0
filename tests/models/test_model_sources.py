"""Model sources (hole 6): only admins load a model from a folder, a file or the hub; everyone picks from the catalog
and the registry; the operator's settings are trusted. Weights load from safetensors only unless
AIGC_ALLOW_PICKLE_WEIGHTS is on."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from aigc_core.errors import ModelUnavailableError, PermissionDeniedError
from aigc_core.models import catalog
from aigc_core.models.loaders import weights_kwargs
from aigc_core.models.manager import get_manager
from aigc_core.settings import reset_settings
from aigc_core.users import audit
from aigc_core.users.roles import Actor, acting_as

ADMIN, EDITOR, VIEWER = Actor("alice", "admin"), Actor("bob", "editor"), Actor("vera", "viewer")
DENIED = "Only an admin may load a model from a folder or the hub"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, "auto"),
        ("auto", "auto"),
        ("smollm2-135m-instruct", "catalog"),
        ("Qwen/Qwen2.5-0.5B-Instruct", "catalog"),  # the hub id of a catalog model, at its pinned revision
        ("Qwen/Qwen2.5-0.5B-Instruct@main", "hub"),  # …at another revision: a hub source
        ("registry:abc123", "registry"),
        ("registry:promoted", "registry"),
        ("/models/x", "path"),
        ("./x", "path"),
        ("~/x", "path"),
        ("weights.safetensors", "path"),
        ("model.gguf", "path"),
        ("a/b/c", "path"),
        ("C:\\models\\x", "path"),
        ("someorg/some-model", "hub"),
        ("someorg/some-model@v2", "hub"),
        ("not-a-model", "unknown"),
    ],
)
def test_value_kinds(value: str | None, kind: str) -> None:
    assert catalog.value_kind("text-generation", value) == kind


def test_an_editor_may_not_load_a_folder_a_file_or_a_hub_id(settings, tiny_causal_lm_dir: Path, tmp_path) -> None:
    gguf = tmp_path / "ok.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 16)
    for value in (str(tiny_causal_lm_dir), str(gguf), "someorg/some-model", "not-a-model"):
        for who in (EDITOR, VIEWER):
            with pytest.raises(PermissionDeniedError, match=DENIED):
                catalog.resolve("text-generation", value, actor=who)
    with acting_as(EDITOR):  # the context's user (a page run, a job's process) without an explicit actor
        with pytest.raises(PermissionDeniedError, match=DENIED):
            get_manager().load("text-generation", str(tiny_causal_lm_dir))
        with pytest.raises(PermissionDeniedError, match=DENIED):
            catalog.local_model_dir("text-generation", str(tiny_causal_lm_dir))
    assert get_manager().load_count == 0
    denied = audit.list_events(actor=ADMIN, action="denied:model_source")
    assert {e.actor for e in denied} == {"bob", "vera"}
    assert any(e.object_id == str(tiny_causal_lm_dir) for e in denied)


def test_an_admin_may(settings, tiny_causal_lm_dir: Path, tmp_path) -> None:
    assert catalog.resolve("text-generation", str(tiny_causal_lm_dir), actor=ADMIN).local_path == tiny_causal_lm_dir
    gguf = tmp_path / "ok.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 16)
    assert catalog.resolve("text-generation", str(gguf), actor=ADMIN).kind == "gguf"  # GGUF stays allowed
    with acting_as(ADMIN):
        assert get_manager().load("text-generation", str(tiny_causal_lm_dir)).model is not None


def test_catalog_models_auto_and_registry_versions_are_for_everyone(
    settings, tiny_bert_classifier_dir: Path, cache_hub_model: Callable[..., Path]
) -> None:
    from aigc_core.finetune import registry
    from aigc_core.finetune.params import ClassifierJobParams

    assert catalog.resolve("text-generation", "smollm2-135m-instruct", actor=VIEWER).kind == "gguf"
    assert catalog.resolve("text-generation", "auto", actor=VIEWER).key == "smollm2-135m-instruct"  # offline
    assert catalog.resolve("sentiment", actor=VIEWER) is not None  # the setting's default
    snap = cache_hub_model("cardiffnlp/twitter-xlm-roberta-base-sentiment", tiny_bert_classifier_dir)
    hub = catalog.resolve("sentiment", "cardiffnlp/twitter-xlm-roberta-base-sentiment", actor=EDITOR)
    assert hub.local_path == snap and hub.key == "twitter-xlm-roberta-sentiment"
    assert catalog.may_pick_source("text-to-image", "stabilityai/sd-turbo", actor=EDITOR)
    vid, target = registry.new_version_dir()
    shutil.copytree(tiny_bert_classifier_dir, target)
    registry.register_version(
        version_id=vid, path=target, task="text-classification", name="bob's", base_model="tiny",
        params=ClassifierJobParams().stored(), metrics={}, actor=EDITOR,
    )  # fmt: skip
    assert catalog.resolve("sentiment", f"registry:{vid}", actor=EDITOR).registry_id == vid


def test_the_operators_setting_is_trusted(settings, tiny_causal_lm_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("AIGC_TEXT_GENERATION_MODEL", str(tiny_causal_lm_dir))
    reset_settings()
    assert catalog.configured_value("text-generation") == str(tiny_causal_lm_dir)
    with acting_as(EDITOR):
        assert catalog.resolve("text-generation").local_path == tiny_causal_lm_dir
        assert catalog.resolve("text-generation", str(tiny_causal_lm_dir)).local_path == tiny_causal_lm_dir
        assert get_manager().load("text-generation").model is not None
        with pytest.raises(PermissionDeniedError, match=DENIED):  # another folder is still the user's choice
            catalog.resolve("text-generation", str(tiny_causal_lm_dir.parent))
    with acting_as(EDITOR):  # the app's own files (an adapter's base model) are trusted explicitly
        assert catalog.resolve("sentiment", str(tiny_causal_lm_dir), trusted=True).local_path is not None


def test_check_model_source_is_what_pages_call(settings) -> None:
    catalog.check_model_source("text-generation", "smollm2-135m-instruct", actor=VIEWER)
    catalog.check_model_source("text-generation", "registry:promoted", actor=VIEWER)
    catalog.check_model_source("text-generation", "/models/x", actor=ADMIN)
    with pytest.raises(PermissionDeniedError, match=DENIED) as err:
        catalog.check_model_source("text-generation", "/models/x", actor=EDITOR)
    assert "smollm2-135m-instruct" in err.value.hint and "AIGC_TEXT_GENERATION_MODEL" in err.value.hint


def test_the_copy_engine_refuses_an_editors_folder(settings, tiny_causal_lm_dir: Path) -> None:
    from aigc_core.copy.lm import load_language_model

    with acting_as(EDITOR), pytest.raises(ModelUnavailableError, match=DENIED):
        load_language_model(str(tiny_causal_lm_dir))


def test_an_editor_loads_their_lora_version_whose_base_is_a_folder(settings, tiny_causal_lm_dir: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from aigc_core.finetune import registry

    vid, target = registry.new_version_dir()
    base = AutoModelForCausalLM.from_pretrained(str(tiny_causal_lm_dir))
    peft_model = get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    peft_model.save_pretrained(str(target / "adapter"))
    AutoTokenizer.from_pretrained(str(tiny_causal_lm_dir)).save_pretrained(str(target))
    registry.register_version(
        version_id=vid, path=target, task="text-generation", name="voice", base_model=str(tiny_causal_lm_dir),
        params={}, metrics={}, meta={"base_path": str(tiny_causal_lm_dir)}, actor=EDITOR,
    )  # fmt: skip
    with acting_as(EDITOR):
        loaded = get_manager().load("text-generation", f"registry:{vid}")
    assert type(loaded.model).__name__ == "LlamaForCausalLM"


# Pickle weights -------------------------------------------------------------------------------------------------
def _pickle_only(source: Path, target: Path) -> Path:
    """``source`` with its safetensors weights replaced by a pickle ``pytorch_model.bin`` (transformers 5 always
    writes safetensors, so the pickle file is written by torch.save as older versions did)."""
    import torch
    from safetensors.torch import load_file

    shutil.copytree(source, target)
    weights = target / "model.safetensors"
    torch.save(load_file(str(weights)), target / "pytorch_model.bin")
    weights.unlink()
    return target


@pytest.fixture()
def pickle_classifier(tiny_bert_classifier_dir: Path, tmp_path: Path) -> Path:
    """A tiny classifier folder whose only weights are ``pytorch_model.bin``."""
    return _pickle_only(tiny_bert_classifier_dir, tmp_path / "pickle_classifier")


def test_pickle_only_weights_are_refused_by_default(settings, pickle_classifier: Path) -> None:
    assert weights_kwargs() == {"use_safetensors": True}
    with pytest.raises(ModelUnavailableError, match="only safetensors weights are loaded") as err:
        catalog.resolve("sentiment", str(pickle_classifier), actor=ADMIN)
    assert "AIGC_ALLOW_PICKLE_WEIGHTS=true" in err.value.message and "pytorch_model.bin" in err.value.message
    with pytest.raises(ModelUnavailableError, match="only safetensors weights are loaded"):
        get_manager().load("sentiment", str(pickle_classifier))
    assert get_manager().load_count == 0


def test_pickle_weights_load_when_the_operator_allows_them(settings, pickle_classifier: Path, monkeypatch) -> None:
    monkeypatch.setenv("AIGC_ALLOW_PICKLE_WEIGHTS", "true")
    reset_settings()
    assert weights_kwargs() == {"use_safetensors": None}
    loaded = get_manager().load("sentiment", str(pickle_classifier))
    assert loaded.model.config.id2label[2] == "positive"


def test_the_loader_itself_asks_for_safetensors(settings, pickle_classifier: Path, monkeypatch) -> None:
    """Even past the folder check (e.g. a hub download), from_pretrained gets use_safetensors=True."""
    monkeypatch.setattr(catalog, "check_weights", lambda *a, **k: None)
    with pytest.raises(ModelUnavailableError, match="only safetensors weights are loaded"):
        get_manager().load("sentiment", str(pickle_classifier))


def test_pickle_checks_cover_hub_snapshots_components_and_adapters(
    settings, tiny_bert_classifier_dir: Path, tmp_path: Path, cache_hub_model: Callable[..., Path]
) -> None:
    pickled = _pickle_only(tiny_bert_classifier_dir, tmp_path / "p")
    cache_hub_model("cardiffnlp/twitter-xlm-roberta-base-sentiment", pickled)
    with pytest.raises(ModelUnavailableError, match="only safetensors weights are loaded"):
        catalog.resolve("sentiment", "twitter-xlm-roberta-sentiment", actor=EDITOR)
    pipe = tmp_path / "pipe"  # a diffusers folder: one component with pickle weights only is enough to refuse
    (pipe / "unet").mkdir(parents=True)
    (pipe / "vae").mkdir()
    (pipe / "model_index.json").write_text("{}")
    (pipe / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"x")
    (pipe / "vae" / "diffusion_pytorch_model.bin").write_bytes(b"x")
    with pytest.raises(ModelUnavailableError, match=r"vae/diffusion_pytorch_model\.bin"):
        catalog.check_weights(pipe)
    version = shutil.copytree(tiny_bert_classifier_dir, tmp_path / "lora")
    (version / "adapter").mkdir()
    (version / "adapter" / "adapter_model.bin").write_bytes(b"x")
    with pytest.raises(ModelUnavailableError, match=r"adapter_model\.bin"):
        catalog.check_weights(version)
    ok = shutil.copytree(tiny_bert_classifier_dir, tmp_path / "ok")
    (ok / "training_args.bin").write_bytes(b"x")  # not weights: never loaded as a model
    catalog.check_weights(ok)
