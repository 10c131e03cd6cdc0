"""Cleaning steps one by one, the recipe round trip, profile and roles, and the split."""

from __future__ import annotations

import pandas as pd
import pytest

from aigc_core.data.clean import Recipe, clean, normalise_labels, parse_timestamps
from aigc_core.data.profile import Roles, infer_roles, profile
from aigc_core.data.split import split
from aigc_core.errors import UserInputError

OFF = {"unicode": False, "trim": False, "drop_empty": False, "dedup": "none"}


def _run(texts: list[str | None], **steps: object) -> tuple[list[str], object]:
    df = pd.DataFrame({"text": texts})
    res = clean(df, Recipe(**{**OFF, **steps}), Roles(text="text"))
    assert len(res.reports) == 1
    return res.df["text"].tolist(), res.reports[0]


def test_unicode_nfkc_and_mojibake() -> None:
    out, rep = _run(["cafÃ© â€œquotedâ€\x9d", "ＦＵＬＬ width", "fine text"], unicode=True)
    assert out[0] == 'café "quoted"' or out[0] == "café \u201cquoted\u201d"
    assert out[1] == "FULL width" and out[2] == "fine text"
    assert rep.changed == 2 and rep.examples[0][0].startswith("cafÃ©")


def test_trim_and_drop_empty() -> None:
    out, rep = _run(["  a   b \n c  ", "x"], trim=True)
    assert out == ["a b c", "x"] and rep.changed == 1
    out, rep = _run(["a", "   ", None, ""], drop_empty=True)
    assert out == ["a"] and rep.dropped == 3 and rep.examples


def test_remove_urls_mentions_html_rt() -> None:
    assert _run(["see https://x.co/a?b=1 and www.y.com now"], remove_urls=True)[0] == ["see  and  now"]
    assert _run(["@bob hi @alice, mail a@b.com"], remove_mentions=True)[0] == ["  hi , mail a@b.com"]
    assert _run(["<p>Hi &amp; bye</p>"], remove_html=True)[0] == [" Hi   bye "]
    out, rep = _run(["RT @bob: news", "not RT here"], remove_rt=True)
    assert out == ["news", "not RT here"] and rep.changed == 1


def test_pii_masking_with_luhn() -> None:
    out, rep = _run(
        [
            "write to jane.doe@example.co.uk today",
            "call +44 20 7946 0958 or 13812345678",
            "card 4111 1111 1111 1111 ok",
            "order 1234 5678 9012 3456 is not a card",
            "in 2015 we had 300 flights",
        ],
        mask_pii=True,
    )
    assert out[0] == "write to [EMAIL] today"
    assert out[1] == "call [PHONE] or [PHONE]"
    assert out[2] == "card [CARD] ok"
    assert "[CARD]" not in out[3]  # fails the Luhn check
    assert out[4] == "in 2015 we had 300 flights"
    assert rep.changed >= 3


def test_dedup_exact_and_normalised() -> None:
    texts = ["Great flight!", "Great flight!", "great flight http://t.co/x", "@bob GREAT   flight", "other"]
    out, rep = _run(texts, dedup="exact")
    assert len(out) == 4 and rep.dropped == 1
    out, rep = _run(texts, dedup="normalised")
    assert out == ["Great flight!", "other"] and rep.dropped == 3


def test_length_bounds() -> None:
    out, rep = _run(["ab", "abcd", "abcdefgh"], min_length=3, max_length=5)
    assert out == ["abcd"] and rep.dropped == 2


def test_label_normalisation_with_unmapped() -> None:
    s = pd.Series(["Positive", " pos ", "1", "正面", "积极", "NEG", "-1", "负面", "消极", "0", "中性", "meh", None])
    out, unmapped = normalise_labels(s, Recipe().label_mapping)
    assert out.tolist()[:11] == ["positive"] * 5 + ["negative"] * 4 + ["neutral"] * 2
    assert unmapped == {"meh": 1}
    df = pd.DataFrame({"text": ["a", "b", "c"], "y": ["pos", "meh", "happy"]})
    res = clean(
        df,
        Recipe(
            **OFF,
            normalise_labels=True,
            label_mapping={"pos": "positive", "happy": "positive"},
            drop_unmapped_labels=True,
        ),
        Roles(text="text", label="y"),
    )
    assert res.df["y"].tolist() == ["positive", "positive"]
    assert res.reports[0].details["unmapped"] == {"meh": 1} and res.reports[0].dropped == 1


def test_timestamps_with_time_zone_and_unparseable() -> None:
    s = pd.Series(["2024-01-01 12:00", "2024-01-02 12:00", "not a date", None])
    parsed, bad = parse_timestamps(s, "Asia/Shanghai")
    assert parsed.iloc[0] == pd.Timestamp("2024-01-01 04:00", tz="UTC")
    assert bad.tolist() == [False, False, True, False]
    df = pd.DataFrame({"text": ["a", "b", "c", "d"], "t": s})
    res = clean(
        df,
        Recipe(**OFF, parse_timestamps=True, timezone="Asia/Shanghai", drop_unparseable_timestamps=True),
        Roles(text="text", timestamp="t"),
    )
    rep = res.reports[0]
    assert rep.details["unparseable"] == 1 and rep.details["unparseable_examples"] == ["not a date"]
    assert len(res.df) == 3 and "did not parse" in rep.notes[0]


def test_recipe_json_round_trip_and_validation() -> None:
    r = Recipe(remove_urls=True, dedup="normalised", min_length=3, label_mapping={"a": "b"}, timezone="Europe/Paris")
    assert Recipe.from_json(r.to_json()) == r
    with pytest.raises(ValueError, match="time zone"):
        Recipe(timezone="Mars/Olympus")


def test_clean_without_text_column() -> None:
    with pytest.raises(UserInputError, match="No text column"):
        clean(pd.DataFrame({"n": [1, 2]}), Recipe(), Roles())


def test_full_recipe_keeps_input_untouched(tweets_df: pd.DataFrame) -> None:
    before = tweets_df.copy()
    res = clean(
        tweets_df,
        Recipe(remove_urls=True, remove_mentions=True, remove_rt=True, normalise_labels=True, parse_timestamps=True),
    )
    pd.testing.assert_frame_equal(tweets_df, before)
    assert res.df["text"].iloc[0] == "Loving the new phone"
    assert set(res.df["sentiment"]) == {"positive", "negative", "neutral"}
    assert str(res.df["created_at"].dtype).startswith("datetime64")


def test_profile_and_inferred_roles(tweets_df: pd.DataFrame) -> None:
    df = pd.concat([tweets_df, tweets_df.head(2)], ignore_index=True)
    df["id"] = range(len(df))
    roles = infer_roles(df)
    assert (roles.text, roles.label, roles.timestamp, roles.id) == ("text", "sentiment", "created_at", "id")
    p = profile(df)
    assert p.rows == 14 and p.exact_duplicates == 2 and p.near_duplicates >= 2
    assert p.labels["neg"] == 3 and sum(p.length_hist["counts"]) == 14
    assert p.timestamps["min"].startswith("2024-03-01") and p.timestamps["unparseable"] == 0
    assert Roles.from_dict({"text_column": "a", "label": ["b"]}) == Roles(text="a", label="b")


def test_split_stratified_and_fallback(tweets_df: pd.DataFrame) -> None:
    big = pd.concat([tweets_df] * 10, ignore_index=True)
    sp = split(big, label="sentiment", validation=0.2, test=0.2, seed=1)
    assert sp.stratified and sum(sp.counts.values()) == len(big)
    assert sp.frames["test"]["sentiment"].value_counts().min() >= 3
    again = split(big, label="sentiment", validation=0.2, test=0.2, seed=1)
    assert again.frames["test"]["text"].tolist() == sp.frames["test"]["text"].tolist()
    small = tweets_df.assign(sentiment=["a"] * 11 + ["b"])
    sp2 = split(small, label="sentiment", validation=0.2, test=0.2)
    assert not sp2.stratified and "too few to stratify" in sp2.warnings[0]
    with pytest.raises(UserInputError, match="between 0 and 1"):
        split(big, validation=-0.1)
    with pytest.raises(UserInputError, match="too little for training"):
        split(big, validation=0.5, test=0.45)


def test_vectorised_helpers_match_pandas() -> None:
    import pyarrow.compute as pc

    from aigc_core.data.textops import duplicated, in_chunks, to_arrow

    s = pd.Series(["a", "b", "a", None, "c", None, "b"], dtype="str")
    assert duplicated(s).tolist() == s.duplicated().tolist()
    arr = to_arrow(pd.Series([f"x{i}" for i in range(10)], dtype="str"))
    out = in_chunks(arr, pc.utf8_upper, rows=3)
    assert out.num_chunks == 4 and out.to_pylist() == [f"X{i}" for i in range(10)]


def test_clean_is_slice_independent(monkeypatch: pytest.MonkeyPatch) -> None:
    import aigc_core.data.textops as T

    texts = ["cafÃ© @bob http://x.co", "mail a@b.co", "  RT @x: hi  ", "ok", "cafÃ© again"] * 3
    df = pd.DataFrame({"text": texts})
    recipe = Recipe(mask_pii=True, remove_rt=True, remove_urls=True, remove_mentions=True, dedup="normalised")
    whole = clean(df, recipe, Roles(text="text")).df["text"].tolist()
    monkeypatch.setattr(T, "CHUNK_ROWS", 2)
    monkeypatch.setattr(T.in_chunks, "__defaults__", (2,))
    sliced = clean(df, recipe, Roles(text="text")).df["text"].tolist()
    assert sliced == whole == ["café", "mail [EMAIL]", "hi", "ok", "café again"]


def test_dedup_key_ignores_noise() -> None:
    from aigc_core.data.textops import normalise_for_dedup

    keys = normalise_for_dedup(
        pd.Series(["RT @a: @b Hi &amp; http://x.co THERE!!", "hi there", "Hi, there…", "ＨＩ there", "hi where"])
    ).tolist()
    assert keys == ["hi there"] * 4 + ["hi where"]
