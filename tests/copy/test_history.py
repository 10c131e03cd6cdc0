"""History: save, search, rate, favourite, export round trip, favourites as training examples."""

from __future__ import annotations

import json

import pytest

from aigc_core.copy import generate as gen
from aigc_core.copy import history
from aigc_core.errors import NotFoundError, UserInputError
from tests.copy.conftest import ScriptedForward

ROWS = [
    "AquaPure keeps your drinks cold.",
    "Hello [Customer Name]! Visit www.aquapure-shop.com for cold deals.",  # held back: never saved
    "Your summit deserves cold water from AquaPure.",
]


@pytest.fixture()
def saved(tiny_lm, monkeypatch, fake_embedder) -> str:
    monkeypatch.setattr(gen, "_forward", ScriptedForward(ROWS))
    res = gen.generate_copy(
        {"product": "AquaPure", "key_points": "cold", "channel": "social_post", "n_variants": 2, "seed": 5},
        lm=tiny_lm,
        sentiment=False,
        save=True,
        embedder=fake_embedder,
    )
    assert res.generation_id and len(res.variants) == 2 and res.held_back[0].text == ROWS[1]
    return res.generation_id


def test_saved_with_brief_model_params_seed(saved: str) -> None:
    e = history.get_entry(saved)
    assert e.brief["product"] == "AquaPure" and e.seed == 5 and e.model and e.params["do_sample"] is True
    assert len(e.variants) == 2 and all("scores" in v and "limit" in v for v in e.variants)
    assert sorted(v["text"] for v in e.variants) == sorted([ROWS[0], ROWS[2]])  # only the variants shown
    for v in e.variants:  # the checks are stored with each variant
        assert v["passes"] is True and v["failures"] == []
        assert v["checks"]["product_named"] is True and v["checks"]["covered_points"] == ["cold"]
    assert e.template == "social_post@v1" and e.created_at.tzinfo is not None


def test_search(saved: str) -> None:
    assert [e.id for e in history.list_history("aquapure")] == [saved]
    assert [e.id for e in history.list_history("summit")] == [saved]  # variant text is searchable
    assert history.list_history("nothing-like-this") == []
    assert [e.id for e in history.list_history("AQUAPURE summit")] == [saved]  # every word, any case


def test_search_finds_chinese_text(tiny_lm, monkeypatch, fake_embedder) -> None:
    monkeypatch.setattr(gen, "_forward", ScriptedForward(["保温杯保持冰爽一整天。"]))
    res = gen.generate_copy(
        {
            "product": "保温杯",
            "key_points": "冰爽一整天",
            "channel": "social_post",
            "language": "zh",
            "n_variants": 1,
            "max_new_tokens": 16,
        },
        lm=tiny_lm,
        sentiment=False,
        save=True,
        embedder=fake_embedder,
    )
    assert [v.text for v in res.variants] == ["保温杯保持冰爽一整天。"]
    assert [e.id for e in history.list_history("冰爽")] == [res.generation_id]
    assert [e.id for e in history.list_history("保温杯")] == [res.generation_id]


def test_rating_and_favourites(saved: str) -> None:
    history.rate(saved, 0, 1)
    e = history.set_favourite(saved, 1, True)
    assert e.variants[0]["rating"] == 1 and e.variants[1]["favourite"] is True
    assert [x.id for x in history.list_history(favourites_only=True)] == [saved]
    assert [(x.id, i) for x, i in history.favourites()] == [(saved, 1)]
    with pytest.raises(UserInputError):
        history.rate(saved, 0, 5)
    with pytest.raises(UserInputError):
        history.set_favourite(saved, 9)
    with pytest.raises(NotFoundError):
        history.rate("missing", 0, 1)


def test_export_round_trip(saved: str) -> None:
    e = history.get_entry(saved)
    items = [(e, 0), (e, 1)]
    for fmt in ("csv", "json"):
        back = history.parse_export(history.export(items, fmt), fmt)
        assert [r["text"] for r in back] == [v["text"] for v in e.variants]
        assert [str(r["generation_id"]) for r in back] == [saved, saved]
    md = history.export(items, "markdown").decode()
    assert md.startswith("# Ad copy export") and e.variants[0]["text"] in md
    assert json.loads(history.export(items, "json"))[0]["product"] == "AquaPure"
    with pytest.raises(UserInputError):
        history.export([], "csv")
    with pytest.raises(UserInputError):
        history.export(items, "pdf")


def test_favourites_become_a_dataset_version(saved: str) -> None:
    with pytest.raises(UserInputError, match="no favourite"):
        history.add_training_examples()
    history.set_favourite(saved, 0, True)
    v1 = history.add_training_examples()
    history.set_favourite(saved, 1, True)
    v2 = history.add_training_examples()
    from aigc_core import data as data_api

    r1, r2 = data_api.get_version(v1), data_api.get_version(v2)
    assert (r1.version, r2.version, r2.parent_id) == (1, 2, v1)
    df = data_api.load_version(v2)
    assert list(df.columns[:2]) == ["prompt", "completion"] and len(df) == 2  # cumulative, deduplicated
    assert df["prompt"].str.contains("Product: AquaPure").all()
    assert r2.roles.get("text") == "completion"
