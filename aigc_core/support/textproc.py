"""Tokens for BM25: Latin words lower-cased, stop words dropped and lightly stemmed; Chinese segmented by
``jieba`` (search mode, so a compound also yields its parts)."""

from __future__ import annotations

import functools
import re
import threading
import unicodedata

from aigc_core.cjk import HAN_CLASS

_RUN = re.compile(HAN_CLASS + r"+|[a-z0-9]+(?:['’][a-z]+)?")
_HAN = re.compile(HAN_CLASS)
EN_STOP = frozenset(
    """a an the and or but if of for to in on at by with from as is are was were be been being am do does did
    doing have has had having i me my we our us you your he she it its they them their this that these those
    what which who whom there here can could would should will shall may might must not no so than too very
    just about into over after before again then once any all some such only own same s t ll ve re d m o y
    how when where why hi hello please thanks thank get got""".split()  # noqa: SIM905
)
ZH_STOP = frozenset(
    "的 了 吗 呢 吧 啊 呀 我 你 您 他 她 它 们 是 在 有 和 与 及 或 也 都 就 还 把 被 这 那 个 "  # noqa: SIM905
    "请 想 要 能 会 可以 怎么 如何 什么 一下 "
    "你们 我们 他们 咱们 到 后 内 里 给 用 让 没 没有 有没有 能不能 时候 一个 哪里 哪儿 现在 需要 怎么办".split()
)
_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _jieba():  # noqa: ANN202 - the jieba module
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _lock:
        jieba.initialize()
    return jieba


def stem(word: str) -> str:
    """A light English stemmer: plurals, -ing, -ed, -ly (enough to match 'refunds' with 'refund')."""
    w = word.replace("’", "'").split("'")[0]
    if len(w) <= 3 or w.isdigit():
        return w
    for suffix, repl, min_len in (("ies", "y", 5), ("sses", "ss", 5), ("ing", "", 6), ("edly", "", 7), ("ed", "", 5),
                                  ("ly", "", 6), ("es", "", 5), ("s", "", 4)):  # fmt: skip
        if w.endswith(suffix) and len(w) >= min_len and not (suffix == "s" and w.endswith(("ss", "us", "is"))):
            out = w[: len(w) - len(suffix)] + repl
            if suffix in ("ing", "ed") and len(out) > 2 and out[-1] == out[-2] and out[-1] not in "lsz":
                out = out[:-1]  # shipped -> ship
            return out
    return w


def tokenize(text: str) -> list[str]:
    """BM25 tokens of ``text`` (any mix of English and Chinese)."""
    norm = unicodedata.normalize("NFKC", text or "").lower()
    out: list[str] = []
    for run in _RUN.findall(norm):
        if _HAN.match(run):
            for word in _jieba().lcut_for_search(run):
                if word.strip() and word not in ZH_STOP:
                    out.append(word)
        elif run not in EN_STOP:
            out.append(stem(run))
    return out
