"""A page script run on its own, without the router's sign-in, shows nothing of the studio."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from aigc_core import jobs
from aigc_core.users.roles import SYSTEM, set_process_actor

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("page", ["models_jobs.py", "data.py", "ad_copy.py", "images.py", "users.py"])
def test_a_page_without_a_signed_in_user_stops(team, page: str) -> None:
    job = jobs.submit("demo.count", {"steps": 3}, actor=team["alice"])
    set_process_actor(None)  # as in the app process: nobody acts unless signed in
    try:
        at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=60).run()
    finally:
        set_process_actor(SYSTEM)
    assert not at.exception, at.exception
    assert [w.value for w in at.warning] == ["Sign in first: open the studio's home page."]
    assert not at.title and not at.dataframe and job not in str([m.value for m in at.markdown])
