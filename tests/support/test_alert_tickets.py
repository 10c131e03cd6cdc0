"""From the Sentiment monitor to Support replies: an alert's texts as typed tickets (engine), the alert's "Draft
ticket replies" button opening the Support page with them (AppTest through the router), and the Support page
filling its ticket box from a picked one."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from aigc_core.errors import AigcError, UserInputError
from aigc_core.support import reply as rp
from tests.monitor.conftest import fake_scorer  # noqa: F401 - a fixture
from tests.support.conftest import FAQ_CSV
from tests.support.test_page import page_env  # noqa: F401 - a fixture

ROOT = Path(__file__).resolve().parents[2]


def test_tickets_from_texts_are_typed_and_validated() -> None:
    got = rp.tickets_from_texts(["  My parcel   is late ", "", {"text": "退款什么时候到？", "channel": "email"}])
    assert [t.text for t in got] == ["My parcel is late", "退款什么时候到？"]
    assert [(t.channel, t.language) for t in got] == [("social", "en"), ("email", "zh")]
    assert len(rp.tickets_from_texts(["x" * 9000])[0].text) == rp.MAX_TICKET_CHARS


@pytest.fixture()
def alert_with_texts(settings, fake_scorer, tmp_path, monkeypatch):  # noqa: F811 - the fixture above
    """The app's router on the Sentiment page, with a demo monitor whose planted spike fired an alert (the fake
    keyword scorer stands in for the model): (AppTest, alert)."""
    from aigc_core.monitor import alerts, demo, store

    texts = [f"@united flight delayed and bag lost again {i}" if i % 2 else f"@apple love it {i}" for i in range(300)]
    path = tmp_path / "tweets_sample.csv"
    labels = ["negative" if i % 2 else "positive" for i in range(300)]
    pd.DataFrame({"text": texts, "sentiment": labels}).to_csv(path, index=False)
    monkeypatch.setattr(demo, "SAMPLE_TWEETS", path)
    orig = demo.start_demo_stream
    monkeypatch.setattr(demo, "start_demo_stream", lambda **kw: orig(n_rows=300, days=7, batches=3))
    at = _router()
    at.button(key="sent_demo_start").click().run()
    assert not at.exception, at.exception
    info = store.list_monitors()[0]
    for _ in range(2):
        at.button(key=f"sent_demo_next_{info.id}").click().run()
    found = alerts.list_alerts(info.id, unacknowledged=True)
    assert found, "the demo's planted spike fires an alert"
    return at, found[0]


def test_alert_tickets_from_the_alert_texts(alert_with_texts) -> None:
    _at, alert = alert_with_texts
    tickets = rp.alert_tickets(alert.id, n=3)
    assert 1 <= len(tickets) <= 3 and all(t.channel == "social" and t.language == "en" for t in tickets)
    assert len({t.text.lower() for t in tickets}) == len(tickets)  # no duplicates
    expected = [" ".join(e.text.split()) for e in alert.examples if e.text]
    assert [t.text for t in tickets][: min(3, len(expected))] == expected[:3]
    with pytest.raises(AigcError, match=r"no alert 'no-such-alert'"):
        rp.alert_tickets("no-such-alert")


def test_alert_without_texts_is_a_clear_error(monkeypatch) -> None:
    from aigc_core.monitor import alerts

    class _Alert:
        examples = ()
        window_start = window_end = None

    monkeypatch.setattr(alerts, "get_alert", lambda *a, **k: _Alert())
    with pytest.raises(UserInputError, match="no texts"):
        rp.alert_tickets("a1")


def _router() -> AppTest:
    missing = [p for p in re.findall(r'st\.Page\("([^"]+)"', (ROOT / "app.py").read_text()) if not (ROOT / p).exists()]
    if missing:
        pytest.skip(f"router pages not in this checkout yet: {missing}")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/sentiment.py")
    at.run()
    assert not at.exception, at.exception
    return at


def test_draft_ticket_replies_opens_the_support_page(alert_with_texts) -> None:
    at, alert = alert_with_texts
    key = f"sent_ticket_replies_banner_{alert.id}"
    assert key in {b.key for b in at.button}  # offered beside "Draft a reply"
    assert f"sent_reply_banner_{alert.id}" in {b.key for b in at.button}
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Support replies"
    assert rp.SUPPORT_PREFILL_KEY not in at.session_state  # the Support page took it
    tickets = at.session_state["support_alert_tickets"]
    assert tickets == rp.alert_tickets(alert.id) and all(isinstance(t, rp.Ticket) for t in tickets)
    assert any("ticket(s) from a sentiment alert" in i.value for i in at.info)


def test_support_page_fills_the_ticket_from_an_alert_ticket(page_env) -> None:  # noqa: F811 - the fixture above
    at = AppTest.from_file(str(ROOT / "pages" / "support.py"), default_timeout=180)
    at.session_state[rp.SUPPORT_PREFILL_KEY] = [
        {"text": "Where is my parcel? It is a week late.", "channel": "social", "language": "auto"},
        {"text": "退款什么时候到？", "channel": "social", "language": "auto"},
    ]
    at.run()
    assert not at.exception, at.exception
    assert any("2 ticket(s) from a sentiment alert" in i.value for i in at.info)
    at.text_input(key="support_new_name").input("Help centre")
    at.button(key="support_create").click().run()
    at.file_uploader(key="support_files").set_value(("faq.csv", FAQ_CSV.encode(), "text/csv"))
    at.radio(key="support_where").set_value("here, now (small files)").run()
    at.button(key="support_build").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.selectbox(key="support_alert_pick").set_value(1).run()
    assert not at.exception, at.exception
    assert at.text_area(key="support_ticket").value == "退款什么时候到？"
    assert at.session_state["support_language"] == "zh" and at.session_state["support_channel"] == "social"
    at.button(key="support_alert_clear").click().run()
    assert "support_alert_tickets" not in at.session_state
