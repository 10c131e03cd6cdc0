"""Real copy with the embedded SmolLM2-135M-Instruct (slow: converts the GGUF once, ~30 s, then generates)."""

from __future__ import annotations

import pytest

from aigc_core.copy import generate_copy
from aigc_core.copy.limits import display_width


@pytest.mark.slow
def test_embedded_model_writes_usable_english_copy(settings) -> None:
    res = generate_copy(
        {
            "product": "AquaPure insulated bottle",
            "key_points": "Keeps drinks cold for 24 hours\nBPA-free steel",
            "audience": "hikers",
            "channel": "search_headline",
            "n_variants": 3,
            "seed": 3,
            "model": "auto",
        },
        sentiment=False,
    )
    assert res.usable and 1 <= len(res.variants) <= 3
    assert "smollm" in res.model.lower()
    for v in res.variants:
        assert v.text and display_width(v.text) <= 30
        assert "<|" not in v.text and not v.text.startswith(('"', "1."))
