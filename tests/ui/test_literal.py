"""``pages._ui.literal`` / ``code_span``: user text put into Markdown (st.markdown, captions, alerts, labels…)
shows exactly as written: no link, image, HTML, heading, table, list, emphasis, math, emoji or icon shortcode,
or colour directive. Checked on the escaped string itself and rendered by a GFM Markdown parser; the
Streamlit-only rules (shortcodes, directives) on the parsed text, as Streamlit's frontend applies them; the
real frontend in tests/ui/test_literal_browser.py."""

from __future__ import annotations

import html
import re

import pytest
from markdown_it import MarkdownIt

from pages._ui import code_span, literal
from tests.fixtures.markdown import shown

PAYLOADS = [
    "![x](http://127.0.0.1:9/x.png)",
    "[click](javascript:alert(document.cookie))",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    ":red[x] and :blue-background[y] and :orange-badge[z]",
    ":material/home: :smile: :+1:",
    "`rm -rf /` and ``double``",
    "# x",
    "### heading",
    "a | b",
    "| a | b |\n| --- | --- |\n| 1 | 2 |",
    "**bold** _it_ *em* ~~gone~~",
    "1. one",
    "- item",
    "> quote",
    "$x^2$ and $$y$$",
    "www.example.com and a@b.co and http://127.0.0.1:9/auto",
    "[ref]: http://127.0.0.1:9/ref",
    "back\\slash \\* and \\",
    "line one\n\n# line two\n---",
    "Covers 2/2: Keeps drinks cold, BPA-free",
    "产品：保温杯 ![图](http://127.0.0.1:9/i.png)",
]
GFM = MarkdownIt("commonmark").enable(["table", "strikethrough"])  # GFM's autolinks: tests/ui/test_literal_browser
FORMATTING_TAGS = re.compile(r"<(?!/?p>|br ?/?>)[a-z]", re.I)  # any tag but the paragraph and line breaks
EMOJI = re.compile(r":\+1:|:-1:|:[\w-]+:")  # remark-emoji's shortcodes, applied by Streamlit to parsed text
DIRECTIVE = re.compile(r":[\w-]+\[")  # Streamlit's :color[…] / :color-badge[…] directives
ASCII_PUNCT = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def _unescaped_punctuation(markdown: str) -> list[str]:
    """ASCII punctuation in ``markdown`` that no backslash escapes (what Markdown could read as syntax)."""
    bad, i = [], 0
    while i < len(markdown):
        c = markdown[i]
        if c == "\\":
            i += 2
            continue
        if c in ASCII_PUNCT:
            bad.append(c)
        i += 1
    return bad


def _rendered_text(markdown: str) -> tuple[str, str]:
    """(the HTML a GFM parser makes of ``markdown``, its text with the tags removed)."""
    out = GFM.render(markdown)
    return out, html.unescape(re.sub(r"<[^>]+>", "", out)).strip()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_literal_escapes_every_markdown_character(payload: str) -> None:
    out = literal(payload)
    assert "\n" not in out and not _unescaped_punctuation(out), out
    for syntax in ("](", "![", ":red[", ":material/", "`"):
        assert syntax not in out.replace("\\`", "")
    assert not out.startswith("#")
    assert shown(out) == " ".join(payload.split())  # what a reader sees: the text as typed


@pytest.mark.parametrize("payload", PAYLOADS)
def test_literal_renders_as_the_plain_text(payload: str) -> None:
    rendered, text = _rendered_text(literal(payload))
    assert not FORMATTING_TAGS.search(rendered), rendered  # no <a>, <img>, <h1>, <table>, <li>, <code>, <em> …
    assert text.replace("\u200b", "") == " ".join(payload.split())
    assert not EMOJI.search(text) and not DIRECTIVE.search(text), text  # no shortcode survives the parse
    assert ":material/" not in text  # Streamlit rewrites this in the source before parsing


def test_literal_keeps_lines_when_asked() -> None:
    out = literal("first ![x](http://127.0.0.1:9/x.png)\n# second\n\n> third", lines=True)
    rendered, text = _rendered_text(out)
    assert not FORMATTING_TAGS.search(rendered), rendered  # a line break, a paragraph for the empty line
    lines = [line for line in text.replace("\u200b", "").split("\n") if line]
    assert lines == ["first ![x](http://127.0.0.1:9/x.png)", "# second", "> third"]


def test_literal_code_keeps_inline_code_of_engine_messages() -> None:
    message = "Set `AIGC_TEXT_GENERATION_MODEL` (now ![x](http://127.0.0.1:9/x.png)) and restart."
    out = literal(message, code=True)
    assert "`AIGC_TEXT_GENERATION_MODEL`" in out and "\\!\\[x\\]" in out
    rendered, text = _rendered_text(out)
    assert "<code>AIGC_TEXT_GENERATION_MODEL</code>" in rendered and "<img" not in rendered and "<a" not in rendered
    assert text.replace("\u200b", "") == message.replace("`", "")


@pytest.mark.parametrize("value", ["org/model-1:latest", "a`b", "`x", "![x](http://127.0.0.1:9/x.png)", "a\nb"])
def test_code_span_shows_any_value_as_code(value: str) -> None:
    rendered, text = _rendered_text(code_span(value))
    assert rendered.startswith("<p><code>") and "<img" not in rendered and "<a" not in rendered, rendered
    assert text.replace("\u200b", "") == " ".join(value.split())
    assert ":material/" not in code_span(":material/home:")
    assert code_span("") == "" and literal(None) == ""


def test_show_error_shows_engine_messages_literally() -> None:
    from streamlit.testing.v1 import AppTest

    from tests.fixtures.markdown import assert_only_escaped

    def app() -> None:
        from aigc_core.errors import UserInputError
        from pages._ui import show_error

        bad = "![x](http://127.0.0.1:9/x.png)"
        show_error(UserInputError(f"No dataset named {bad!r}.", hint=f"Set `AIGC_DATA_DIR` or rename {bad}."))
        show_error(ValueError(bad))

    at = AppTest.from_function(app)
    at.run()
    assert not at.exception, at.exception
    assert len(assert_only_escaped(at, "![x](http://127.0.0.1:9/x.png)", at_least=2)) == 2
    assert "**What to do:** Set `AIGC_DATA_DIR` or rename" in at.error[0].value  # engine code spans stay code
