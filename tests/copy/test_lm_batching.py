"""Many users on one in-process transformers model: generation calls that wait for the model are merged into one
batched ``generate``; each caller gets its own rows (greedy: the same rows it gets alone), its first row streams,
and a merged waiter no longer counts as queued."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from aigc_core.settings import reset_settings

GREEDY = {"do_sample": False, "max_new_tokens": 6, "repetition_penalty": 1.0}
PROMPTS = ["Buy our new bottle", "Fresh coffee delivered to your door every", "Light, strong and made"]


def _count_generate(lm: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Batch sizes of every ``generate`` call on the model."""
    sizes: list[int] = []
    real = lm.model.generate

    def counting(*args: Any, **kwargs: Any) -> Any:
        sizes.append(int(kwargs["input_ids"].shape[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(lm.model, "generate", counting)
    return sizes


def _kwargs(lm: Any, **extra: Any) -> dict[str, Any]:
    return dict(GREEDY, pad_token_id=lm.tokenizer.pad_token_id, eos_token_id=lm.tokenizer.eos_token_id, **extra)


def test_waiting_calls_are_merged_into_one_batch(tiny_lm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    lm = tiny_lm
    alone = [lm.sample(p, 2, _kwargs(lm), seed=i)[0] for i, p in enumerate(PROMPTS)]
    sizes = _count_generate(lm, monkeypatch)
    results: dict[int, Any] = {}
    idents: dict[int, int] = {}
    streamers = [lm.make_streamer() for _ in PROMPTS]

    def user(i: int) -> None:
        idents[i] = threading.get_ident()
        results[i] = lm.sample(PROMPTS[i], 2, _kwargs(lm), seed=i, streamer=streamers[i])

    with lm.lock:  # another session holds the model: the three users queue up behind it
        threads = [threading.Thread(target=user, args=(i,)) for i in range(len(PROMPTS))]
        for i, t in enumerate(threads):
            t.start()
            while i not in idents or not lm.lock.holds_ticket(idents[i]):
                time.sleep(0.005)
        assert [lm.lock.ahead(idents[i]) for i in range(3)] == [1, 2, 3]
    for t in threads:
        t.join(30)
    assert sizes == [6]  # one generate for the three users' 2 rows each
    for i in range(3):
        rows, new_tokens = results[i]
        assert [s.text for s in rows] == [s.text for s in alone[i]]  # greedy: the rows it gets alone
        assert new_tokens > 0 and all(s.logprob is not None for s in rows)
        chunks = []
        while (c := streamers[i].queue.get(timeout=5)) is not None:
            chunks.append(c)
        streamed = "".join(chunks)  # each user's first row streamed to that user (whole characters only)
        assert streamed and rows[0].text.startswith(streamed) and len(streamed) >= len(rows[0].text.rstrip("\ufffd"))
    assert not lm.lock.locked() and all(lm.lock.ahead(idents[i]) == 0 for i in range(3))


def test_different_sampling_options_are_not_merged(tiny_lm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    lm = tiny_lm
    sizes = _count_generate(lm, monkeypatch)
    out: list[Any] = []
    started: list[int] = []

    def user(kwargs: dict[str, Any]) -> None:
        started.append(threading.get_ident())
        out.append(lm.sample(PROMPTS[0], 1, kwargs, seed=0))

    with lm.lock:
        threads = [
            threading.Thread(target=user, args=(_kwargs(lm),)),
            threading.Thread(target=user, args=(_kwargs(lm, no_repeat_ngram_size=2),)),
        ]
        for t in threads:
            t.start()
        while len(started) < 2 or not all(lm.lock.holds_ticket(i) for i in started):
            time.sleep(0.005)
    for t in threads:
        t.join(30)
    assert sorted(sizes) == [1, 1] and len(out) == 2


def test_batching_off_serves_one_after_another(tiny_lm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGC_TEXT_GENERATION_BATCHING", "false")
    reset_settings()
    lm = tiny_lm
    sizes = _count_generate(lm, monkeypatch)
    started: list[int] = []

    def user(i: int) -> None:
        started.append(threading.get_ident())
        lm.sample(PROMPTS[i], 2, _kwargs(lm), seed=i)

    with lm.lock:
        threads = [threading.Thread(target=user, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        while len(started) < 2 or not all(lm.lock.holds_ticket(i) for i in started):
            time.sleep(0.005)
    for t in threads:
        t.join(30)
    assert sizes == [2, 2]
