"""Prompt templates: one versioned file per channel, EN and ZH, rendered with the model's chat template."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigc_core.copy.brief import CHANNELS, Brief
from aigc_core.copy.guardrails import Kit
from aigc_core.copy.prompts import TEMPLATE_DIR, apply_chat_template, fit_prompt, load_template, render_messages


@pytest.mark.parametrize("channel", list(CHANNELS))
@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_channel_renders_in_both_languages(channel: str, language: str) -> None:
    tpl = load_template(channel)
    assert tpl.version >= 1 and tpl.ref == f"{channel}@v{tpl.version}"
    kit = Kit(name="k", voice="calm", banned=["cure"], competitors=["HydroMax"], required={channel: ["T&Cs apply"]})
    brief = Brief(
        product="AquaPure",
        key_points="cold 24h\n- BPA free",
        audience="hikers",
        channel=channel,
        language=language,
        tone="playful",
        tone_text="short",
    )
    system, user = render_messages(brief, kit)
    assert system["role"] == "system" and user["role"] == "user"
    assert "AquaPure" in user["content"] and "cold 24h" in user["content"] and "BPA free" in user["content"]
    assert "T&Cs apply" in user["content"] and "HydroMax" in user["content"] and "calm" in system["content"]
    assert "{{" not in user["content"] and "{%" not in user["content"]
    if language == "zh":
        assert "请为" in user["content"] and "俏皮有趣" in user["content"] and "中文" in system["content"]
    else:
        assert user["content"].startswith("Write ") and "playful and witty" in user["content"]


def test_template_files_have_versions() -> None:
    files = sorted(p.stem for p in Path(TEMPLATE_DIR).glob("*.yaml"))
    assert files == sorted(CHANNELS)


def test_chat_template_applied(tiny_lm) -> None:
    msgs = render_messages(Brief(product="AquaPure", channel="slogan"))
    text = apply_chat_template(tiny_lm.tokenizer, msgs)
    assert text.startswith("<|im_start|>system\n") and text.endswith("<|im_start|>assistant\n")


def test_plain_transcript_without_chat_template() -> None:
    class NoTemplate:
        chat_template = None

    text = apply_chat_template(NoTemplate(), [{"role": "user", "content": "hi"}])
    assert text == "User: hi\n\nAssistant:"


def test_long_brief_is_cut_to_fit_the_context(tiny_lm) -> None:
    long_points = "\n".join(f"Point number {i} about cold drinks and hikers" for i in range(200))
    brief = Brief(product="AquaPure", key_points=long_points, channel="social_post")
    fitted = fit_prompt(brief, tiny_lm.tokenizer, None, context=512, max_new_tokens=64)
    assert fitted.cut_tokens > 0 and fitted.n_tokens <= 512 - 64
    assert "Point number 0" in fitted.text and "Point number 199" not in fitted.text
