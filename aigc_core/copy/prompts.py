"""Prompt templates (versioned YAML files, one per channel) rendered into chat messages and the model's prompt."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jinja2.sandbox import SandboxedEnvironment

from aigc_core.copy.brief import Brief
from aigc_core.copy.guardrails import Kit
from aigc_core.copy.limits import limit_for
from aigc_core.errors import AigcError

TEMPLATE_DIR = Path(__file__).with_name("templates")
_env = SandboxedEnvironment(trim_blocks=False, lstrip_blocks=False, keep_trailing_newline=False)
_UNIT_TEXT = {
    "en": {"width": "at most {n} characters", "chars": "at most {n} characters", "words": "at most {n} words"},
    "zh": {"width": "不超过{n}个汉字", "chars": "不超过{n}个字", "words": "不超过{n}个字"},
}


@dataclass(frozen=True)
class Template:
    """One channel's template file: version and per-language system/user Jinja sources."""

    channel: str
    version: int
    languages: dict[str, dict[str, str]]

    @property
    def ref(self) -> str:
        """``channel@vN``, stored with every generation."""
        return f"{self.channel}@v{self.version}"


@functools.lru_cache(maxsize=32)
def load_template(channel: str) -> Template:
    """The template of ``channel`` (read once per process)."""
    path = TEMPLATE_DIR / f"{channel}.yaml"
    if not path.is_file():
        raise AigcError(f"There is no prompt template for the channel {channel!r}.", hint="Reinstall the app.")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    langs = {k: v for k, v in data.items() if isinstance(v, dict) and {"system", "user"} <= set(v)}
    return Template(channel=data["channel"], version=int(data["version"]), languages=langs)


def limit_text(brief: Brief) -> str:
    """The channel limit as an instruction in the brief's language (CJK width limits become character counts)."""
    unit, maximum = limit_for(brief.channel, brief.language, brief.max_length)
    n = maximum // 2 if unit == "width" and brief.language == "zh" else maximum
    return _UNIT_TEXT[brief.language][unit].format(n=n)


def render_messages(brief: Brief, kit: Kit | None = None, *, points: list[str] | None = None) -> list[dict[str, str]]:
    """System and user messages for ``brief`` (``points`` replaces the key points, e.g. after a cut)."""
    tpl = load_template(brief.channel)
    lang = tpl.languages.get(brief.language) or tpl.languages["en"]
    ctx: dict[str, Any] = {
        "product": brief.product,
        "points": brief.points() if points is None else points,
        "audience": brief.audience,
        "tone": brief.tone_description(),
        "limit_text": limit_text(brief),
        "voice": kit.voice if kit else "",
        "required": kit.required_for(brief.channel) if kit else [],
        "avoid": [*(kit.banned if kit else []), *(kit.competitors if kit else [])],
    }
    system = _env.from_string(lang["system"]).render(**ctx).strip()
    user = "\n".join(
        line.rstrip() for line in _env.from_string(lang["user"]).render(**ctx).splitlines() if line.strip()
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def apply_chat_template(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """The prompt string in the model's chat format (a plain transcript when it has no chat template)."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    text = "\n\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in messages)
    return f"{text}\n\nAssistant:"


_FIELDS = {
    "en": {"product": "Product", "points": "Key points", "audience": "Audience", "tone": "Tone", "sep": "; "},
    "zh": {"product": "产品", "points": "卖点", "audience": "目标人群", "tone": "语气", "sep": "；"},
}
_CHANNEL_LABELS_ZH = {
    "search_headline": "搜索广告标题",
    "search_description": "搜索广告描述",
    "social_post": "社交媒体帖子",
    "email_subject": "邮件主题",
    "product_description": "产品描述",
    "slogan": "广告口号",
    "sms_push": "短信推送",
    "support_reply": "客服回复",
}
_REPLY_HEADER = {
    "en": "Replies written by a professional customer-service agent. Each one acknowledges the customer's problem, "
    "apologises and says the next step in plain words, with nothing made up.",
    "zh": "以下是专业客服撰写的回复。每条都承认客户遇到的问题，表示歉意，并用平实的语言说明下一步，不编造任何信息。",
}
_HEADER = {
    "en": "Finished ad copy written by a professional copywriter. Each one names the product and states its key "
    "points in plain words, with nothing made up.",
    "zh": "以下是专业文案撰写的成品广告文案。每条都写出产品名称，用平实的语言说明卖点，不编造任何信息。",
}


def _block(brief: Brief, points: list[str]) -> str:
    """One brief as completion-prompt lines, ending with the channel label the copy follows."""
    from aigc_core.copy.brief import CHANNELS

    f = _FIELDS[brief.language]
    colon = "：" if brief.language == "zh" else ": "
    lines = [f"{f['product']}{colon}{brief.product}"]
    if points:
        lines.append(f"{f['points']}{colon}{f['sep'].join(points)}")
    if brief.audience:
        lines.append(f"{f['audience']}{colon}{brief.audience}")
    if brief.tone_description():
        lines.append(f"{f['tone']}{colon}{brief.tone_description()}")
    label = _CHANNEL_LABELS_ZH[brief.channel] if brief.language == "zh" else CHANNELS[brief.channel]
    lines.append(f"{label}{colon.rstrip()}")
    return "\n".join(lines)


def completion_prompt(brief: Brief, examples: Sequence[Any], points: list[str] | None = None) -> str:
    """A base model's prompt: a header, the examples' briefs with their copy, then this brief's open slot."""
    parts = [(_REPLY_HEADER if brief.channel == "support_reply" else _HEADER)[brief.language]]
    for ex in examples:
        eb = ex.brief()
        parts.append(f"{_block(eb, eb.points())} {ex.copy}")
    parts.append(_block(brief, brief.points() if points is None else points))
    return "\n\n".join(parts)


def few_shot_messages(
    brief: Brief, kit: Kit | None, examples: Sequence[Any], points: list[str] | None = None
) -> list[dict[str, str]]:
    """Chat messages: the system message, each example as a request and its answer, then this request."""
    msgs = render_messages(brief, kit, points=points)
    shots: list[dict[str, str]] = []
    for ex in examples:
        shots.append(render_messages(ex.brief(), kit)[1])
        shots.append({"role": "assistant", "content": ex.copy})
    return [msgs[0], *shots, msgs[1]]


@dataclass
class FittedPrompt:
    """The prompt that fits the model's context, and how much of the brief was cut to get there."""

    text: str
    messages: list[dict[str, str]]
    n_tokens: int
    cut_tokens: int
    template: str
    stop: tuple[str, ...] = ()
    n_examples: int = 0


def fit_prompt(
    brief: Brief,
    tokenizer: Any,
    kit: Kit | None,
    context: int,
    max_new_tokens: int,
    *,
    examples: Sequence[Any] = (),
    chat: bool = True,
) -> FittedPrompt:
    """Render the prompt (chat messages with ``examples`` as earlier turns, or for a base model a completion
    prompt with the examples before the brief); when it leaves no room for ``max_new_tokens`` in ``context``,
    drop the examples, then cut the key points' tail token by token and report how many tokens were cut."""
    tpl = load_template(brief.channel)
    budget = max(16, context - max_new_tokens)
    stop = () if chat else ("\n",)
    shots = list(examples)

    def render(points: list[str]) -> tuple[str, list[dict[str, str]], int]:
        if chat:
            msgs = few_shot_messages(brief, kit, shots, points) if shots else render_messages(brief, kit, points=points)
            text = apply_chat_template(tokenizer, msgs)
        else:
            text = completion_prompt(brief, shots, points)
            msgs = [{"role": "user", "content": text}]
        return text, msgs, len(tokenizer(text, add_special_tokens=False)["input_ids"])

    points = brief.points()
    text, msgs, n = render(points)
    while n > budget and shots:  # examples go first: the brief itself matters more
        shots.pop()
        text, msgs, n = render(points)
    if n <= budget:
        return FittedPrompt(text, msgs, n, 0, tpl.ref, stop, len(shots))
    base_text, base_msgs, base_n = render([])
    if base_n > budget:
        from aigc_core.errors import UserInputError

        raise UserInputError(
            f"Even without its key points the prompt needs {base_n} tokens, more than the model's context of "
            f"{context} minus {max_new_tokens} new tokens.",
            hint="Lower 'max new tokens', shorten the brand voice and required phrases, or pick a model with a "
            "longer context.",
        )
    ids = tokenizer("\n".join(points), add_special_tokens=False)["input_ids"]
    lo, hi = 0, len(ids)  # binary search: the most key-point tokens that still fit
    best = (base_text, base_msgs, base_n, 0)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        cut_text = tokenizer.decode(ids[:mid], skip_special_tokens=True).strip()
        text, msgs, n = render([p for p in cut_text.splitlines() if p.strip()])
        if n <= budget:
            lo, best = mid, (text, msgs, n, mid)
        else:
            hi = mid - 1
    text, msgs, n, keep = best
    return FittedPrompt(text, msgs, n, len(ids) - keep, tpl.ref, stop, 0)
