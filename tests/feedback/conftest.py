"""Fixtures of the feedback tests: a fresh store and stored ad copy generations made without a model."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from aigc_core.copy.brief import Brief
from aigc_core.store import Generation, init_store, session_scope

# Words of the tiny test tokenizer's corpus (tests/fixtures/tiny_models.py), so the tiny LM tokenizes them compactly.
PRODUCTS = ["coffee", "bottles", "shoes", "phone", "bakery", "loyalty club", "cafe", "app"]
GOOD = [
    "fresh coffee every morning in the neighbourhood cafe",
    "great product fast delivery friendly support",
    "i love this brand because the quality is excellent",
]
BAD = [
    "terrible service late order cold food never again",
    "the app keeps crashing and the update made it worse",
]


@pytest.fixture()
def store(settings):
    """A fresh, migrated store."""
    init_store()
    return settings


@pytest.fixture()
def add_generation(store) -> Callable[..., str]:
    """Store an ad copy generation with the given variant texts; returns its id."""

    def add(
        product: str,
        texts: list[str],
        *,
        kit: str = "",
        model: str = "tiny-lm",
        revision: str = "r1",
        owner: str = "system",
        channel: str = "social_post",
    ) -> str:
        brief = Brief(product=product, key_points="quality\nfast delivery", channel=channel, brand_kit=kit)
        with session_scope() as s:
            row = Generation(
                kind="copy", owner=owner, model=model, model_revision=revision, prompt=brief.as_text(),
                params={"temperature": 0.8, "top_p": 0.95}, seed=7,
                outputs=[{"text": t, "rating": 0, "favourite": False} for t in texts],
                meta={"brief": brief.model_dump()},
            )  # fmt: skip
            s.add(row)
            s.flush()
            return row.id

    return add
