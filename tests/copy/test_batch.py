"""Batch from a product list: mapping, the copy.batch job function end to end with a fake context."""

from __future__ import annotations

import pandas as pd
import pytest

from aigc_core.copy import batch
from aigc_core.copy import generate as gen
from aigc_core.errors import UserInputError

CSV = (
    b"Name,Features,Audience,Channel,Lang\n"
    b"AquaPure,cold 24h; BPA free,hikers,Social post,en\n"
    b"BrewBox,fresh coffee,commuters,email_subject,en\n"
    b"Broken,x,y,billboard,en\n"
)


def test_read_and_suggest_mapping() -> None:
    df = batch.read_products(CSV)
    assert list(df.columns) == ["Name", "Features", "Audience", "Channel", "Lang"] and len(df) == 3
    assert batch.suggest_mapping(list(df.columns)) == {
        "product": "Name",
        "key_points": "Features",
        "audience": "Audience",
        "channel": "Channel",
        "language": "Lang",
    }
    zh = "产品,卖点,人群\n保温杯,冷饮一整天,徒步爱好者\n蓝牙耳机,续航长,通勤族\n".encode("gb18030")
    assert batch.read_products(zh)["产品"].tolist() == ["保温杯", "蓝牙耳机"]  # GB18030 from Excel
    with pytest.raises(UserInputError, match="empty"):
        batch.read_products(b"  ")
    with pytest.raises(UserInputError, match="no rows"):
        batch.read_products(b"a,b\n")
    with pytest.raises(UserInputError, match="mapping"):
        batch.batch_params({"input_path": "x", "mapping": {"price": "Price"}})


GOOD = {  # two passing variants per product, as a good model would write them
    "AquaPure": ["AquaPure keeps drinks cold 24h and it is BPA free.", "Cold 24h, BPA free: hike with AquaPure."],
    "BrewBox": ["BrewBox: fresh coffee at your door", "Fresh coffee every day from BrewBox"],
}


def test_batch_job_end_to_end(tiny_lm, fake_ctx, monkeypatch, settings, fake_embedder) -> None:
    from aigc_core.copy import checks
    from aigc_core.copy import lm as lm_mod
    from aigc_core.copy.lm import Sample

    monkeypatch.setattr(lm_mod, "load_language_model", lambda value=None, **kw: tiny_lm)
    monkeypatch.setattr(checks, "_default_embedder", fake_embedder)  # the job checks with the page's embedder
    calls: list[tuple[str, int]] = []

    def scripted(prep, lm, n, *, seed, streamer=None):
        calls.append((prep.brief.product, n))
        rows = [Sample(t, False, -1.0) for t in GOOD[prep.brief.product]]
        rows.append(Sample("Hello [Customer Name]! Call 555-0199-2231 today.", False, -1.0))
        return (rows + [Sample("", False, None)] * n)[:n], 10 * n

    monkeypatch.setattr(gen, "_forward", scripted)
    path = batch.save_upload(CSV, "products list.csv")
    params = batch.CopyBatchParams(
        input_path=str(path),
        mapping=batch.suggest_mapping(["Name", "Features", "Audience", "Channel", "Lang"]),
        n_variants=2,
        defaults={"max_new_tokens": 12},
    )
    out = batch.copy_batch_job(fake_ctx, params)
    assert out["rows"] == 3 and out["ok"] == 2 and out["failed"] == 1 and out["variants"] == 4
    assert calls == [("AquaPure", 6), ("BrewBox", 6)]  # oversampled once per row; both passed: no second round
    assert fake_embedder.calls == 2
    df = pd.read_csv(out["output"], encoding="utf-8-sig")
    assert list(df.columns) == list(batch.OUTPUT_COLUMNS)
    good = df[df["error"].isna()]
    assert sorted(good["product"].unique()) == ["AquaPure", "BrewBox"] and len(good) == 4
    for product, texts in GOOD.items():  # only the passing copy is written, never the placeholder one
        rows = good[good["product"] == product]
        assert sorted(rows["text"]) == sorted(texts) and sorted(rows["rank"]) == [1, 2]
    assert not good["text"].str.contains("Customer Name").any()
    assert set(good["channel"]) == {"social_post", "email_subject"} and good["within_limits"].all()
    assert "field 'channel' is not valid" in str(df[df["product"] == "Broken"]["error"].iloc[0])
    assert fake_ctx.progress[-1][0] == 1.0 and any("3/3" in m for _, m in fake_ctx.progress)


def test_batch_row_with_nothing_usable_is_an_error_row(tiny_lm, fake_ctx, monkeypatch, settings, fake_embedder) -> None:
    from aigc_core.copy import checks
    from aigc_core.copy import lm as lm_mod

    monkeypatch.setattr(lm_mod, "load_language_model", lambda value=None, **kw: tiny_lm)
    monkeypatch.setattr(checks, "_default_embedder", fake_embedder)
    calls: list[int] = []
    real_forward = gen._forward

    def counting(prep, lm, n, *, seed, streamer=None):
        calls.append(n)
        return real_forward(prep, lm, n, seed=seed, streamer=streamer)

    monkeypatch.setattr(gen, "_forward", counting)  # the tiny random model: gibberish, nothing passes
    path = batch.save_upload(CSV.split(b"BrewBox")[0].rstrip(b"\n") + b"\n", "one.csv")
    out = batch.run_batch(
        fake_ctx,
        {
            "input_path": str(path),
            "mapping": {"product": "Name", "key_points": "Features", "channel": "Channel"},
            "n_variants": 2,
            "defaults": {"max_new_tokens": 8},
        },
    )
    assert calls == [6, 3 * 2 + 2] and out["rows"] == 1 and out["ok"] == 0 and out["failed"] == 1
    df = pd.read_csv(out["output"], encoding="utf-8-sig")
    assert df["error"].tolist() == ["nothing usable came back"] and df["text"].isna().all()
    assert any("nothing usable came back" in line for line in fake_ctx.lines)


def test_batch_job_stops_when_asked(tiny_lm, fake_ctx, monkeypatch, settings) -> None:
    from aigc_core.copy import lm as lm_mod

    monkeypatch.setattr(lm_mod, "load_language_model", lambda value=None, **kw: tiny_lm)
    fake_ctx.stop_after = 1  # the model-loading report + one row
    path = batch.save_upload(CSV, "p.csv")
    out = batch.run_batch(
        fake_ctx,
        {"input_path": str(path), "mapping": {"product": "Name"}, "n_variants": 1, "defaults": {"max_new_tokens": 8}},
    )
    assert out["done"] == 1 and any("stopped" in line for line in fake_ctx.lines)


def test_missing_column_is_a_user_error(fake_ctx, settings) -> None:
    path = batch.save_upload(CSV, "p.csv")
    with pytest.raises(UserInputError, match="no column"):
        batch.run_batch(fake_ctx, {"input_path": str(path), "mapping": {"product": "Title"}})
