"""Complaint terms find a planted term; a reply brief is built from an alert; exports; alerts after scoring."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pandas as pd
import pytest

from aigc_core.copy import reply_checks
from aigc_core.copy.brief import Brief, validate_brief
from aigc_core.copy.prompts import render_messages
from aigc_core.errors import NotFoundError, UserInputError
from aigc_core.monitor import alerts, export, files, reply, scoring, store
from aigc_core.monitor.aggregate import Filters, MonitorData
from aigc_core.monitor.terms import CorpusSizes, complaint_terms, distinctive_terms, stopwords, tokens
from aigc_core.store import BrandKit, session_scope
from tests.monitor.conftest import scored_frame


def test_tokens_unigrams_bigrams_without_stopwords() -> None:
    toks = tokens("RT @united The baggage fee is a joke http://t.co/x", stopwords())
    assert toks == ["baggage", "fee", "baggage fee", "joke"]


def _spike_rows() -> list[tuple[str, str, str, str]]:
    rows = []
    start = datetime(2026, 1, 1)
    filler = ["service was slow today", "the app crashed", "rude staff at the desk", "seat too small"]
    for i in range(200):  # baseline: ordinary complaints and neutral talk
        ts = (start + timedelta(hours=i)).isoformat()
        rows.append((ts, "air", "negative" if i % 3 == 0 else "neutral", filler[i % 4] + f" {i}"))
    planted = [
        "charged a baggage fee again",
        "why is the baggage fee so high",
        "baggage fee is a ripoff",
        "new baggage fee, seriously?",
        "paid the baggage fee twice",
    ]
    for i in range(30):  # the window: a new complaint, in different words each time
        ts = (start + timedelta(hours=200, minutes=i)).isoformat()
        rows.append((ts, "air", "negative", f"{planted[i % 5]} {i}"))
    return rows


def test_complaint_terms_find_planted_term() -> None:
    data = MonitorData(scored_frame(_spike_rows()))
    terms, sizes = complaint_terms(data, Filters(), datetime(2026, 1, 9, 8), datetime(2026, 1, 9, 10))
    assert sizes.negative_in_window == 30 and sizes.baseline == 200 and sizes.baseline_outside
    top = [t.term for t in terms[:3]]
    assert top[0] == "baggage fee"
    fee = next(t for t in terms if t.term == "baggage fee")
    assert fee.count == 30 and fee.baseline_count == 0 and fee.examples and "baggage fee" in fee.examples[0]
    assert all(t.term not in {"slow", "rude", "app"} for t in terms)
    assert distinctive_terms([], ["x"]) == []
    # The whole stream as the window: negatives vs the neutral/positive texts.
    whole, sizes2 = complaint_terms(data, Filters())
    assert sizes2 == CorpusSizes(negative_in_window=97, baseline=133, baseline_outside=False)
    assert whole[0].term == "baggage fee"


def test_reply_brief_from_alert(settings, fake_scorer) -> None:
    frame = pd.DataFrame(
        {
            "t": [r[0] for r in _spike_rows()],
            "text": [r[3] for r in _spike_rows()],
            "topic": ["air"] * 230,
        }
    )
    # the keyword scorer marks "outrageous fee" texts neutral: make them negative with a keyword
    frame.loc[200:, "text"] = frame.loc[200:, "text"] + " terrible"
    info, _ = store.create_monitor("air", mapping={"text": "text", "timestamp": "t", "topic": "topic"}, frame=frame)
    alerts.create_rule(info.id, "share_negative", 0.5, window="6h", min_volume=5, cooldown_s=0)
    run = scoring.score_pending(info.id)  # alerts are evaluated after the scoring run
    assert run.n_rows == 230 and run.n_alerts == 1 and run.alert_error == ""
    alert = alerts.list_alerts(info.id)[0]
    with session_scope() as s:
        s.add(BrandKit(name="Acme Air", voice="warm and direct"))
    draft = reply.build_reply_brief(alert.id, kind="holding_statement", brand_kit="Acme Air")
    b = draft.brief
    assert isinstance(b, Brief) and b.channel == "support_reply"
    assert b.product == "Acme Air" and b.brand_kit == "Acme Air"
    assert draft.terms[0] == "baggage fee"
    assert len(draft.quotes) == 5 and all("baggage fee" in q for q in draft.quotes)
    assert b.points()[0].startswith("Acknowledge: baggage fee") and "aware of reports" in b.key_points
    assert all("baggage fee" not in p for p in b.points()[1:])  # the quotes are not key points
    assert "“" in b.audience and draft.quotes[0] in b.audience and len(b.audience) <= 500
    assert draft.source["alert_id"] == alert.id and draft.source["monitor_id"] == info.id
    assert "baggage fee" in reply_checks.topic_terms_of(b) and "baggage fee" in draft.topic_terms()

    cs = reply.build_reply_brief(alert.id)
    assert cs.kind == "customer_service" and cs.brief.channel == "support_reply"
    assert cs.brief.product == "our team"  # no brand kit and no product: never the monitor's name ("air")
    assert cs.brief.brand_kit == ""
    assert cs.brief.points() == [
        cs.brief.points()[0],
        "Apologise for the trouble",
        "Next step: send us a direct message so we can help",
    ]
    assert cs.brief.points()[0].startswith("Acknowledge: ") and "baggage fee" in cs.brief.points()[0]
    assert validate_brief(cs.brief.model_dump()) == cs.brief  # the Ad copy page's prefill round-trips
    assert reply.build_reply_brief(alert.id, product="  Acme Support ").brief.product == "Acme Support"
    zh = reply.build_reply_brief(alert.id, language="zh")
    assert zh.brief.language == "zh" and zh.brief.product == "我们团队"
    assert zh.brief.points()[0].startswith("回应：") and "致歉" in zh.brief.key_points
    msgs = render_messages(cs.brief)
    assert "customer-service agent" in msgs[0]["content"] and "copywriter" not in msgs[0]["content"].split(".")[0]
    assert "Apologise for the trouble" in msgs[1]["content"] and draft.quotes[0] in render_messages(b)[1]["content"]
    assert not hasattr(reply, "PREFILL_KEY")  # the engine knows nothing about the pages' session state

    good = "We're sorry about the baggage fee trouble. Please send us a direct message so we can help."
    assert reply_checks.check_reply_for(good, cs.brief) == []
    assert reply_checks.check_reply_for("We're excited to announce our new digital campaign!", cs.brief)
    with pytest.raises(UserInputError):
        reply.build_reply_brief(alert.id, kind="poem")
    with pytest.raises(UserInputError):
        reply.build_reply_brief(alert.id, language="fr")
    with pytest.raises(NotFoundError):
        reply.build_reply_brief(alert.id, brand_kit="nope")
    # exports of the same monitor
    data = store.monitor_data(info.id)
    f = Filters(labels=("negative",))
    csv = export.export_rows(data, files.rows_path(info.id), f, "csv")
    back = pd.read_csv(io.BytesIO(csv))
    assert len(back) == data.count(f) and {"text_hash", "prob_negative", "label"} <= set(back.columns)
    pq = pd.read_parquet(io.BytesIO(export.export_rows(data, files.rows_path(info.id), f, "parquet")))
    assert len(pq) == len(back)
    series = pd.read_csv(io.BytesIO(export.export_series(data, Filters(), "day")))
    assert series["volume"].sum() == 230 and "net" in series.columns
    assert export.export_name("Air: tweets!", "rows", "csv") == "air-tweets_rows.csv"
    with pytest.raises(UserInputError):
        export.to_bytes(back, "xlsx")
