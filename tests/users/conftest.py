"""Users tests: a fresh store, sign-in on, and a few accounts."""

from __future__ import annotations

import pytest

from aigc_core.settings import reset_settings
from aigc_core.users import accounts
from aigc_core.users.roles import SYSTEM, Actor

PASSWORDS = {"alice": "alice-long-password", "bob": "bob-long-password", "vera": "vera-long-password"}


@pytest.fixture()
def team(settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, Actor]:
    """alice (admin), bob (editor), vera (viewer); sign-in on."""
    monkeypatch.setenv("AIGC_AUTH", "on")
    reset_settings()
    accounts.add_admin_cli("alice", PASSWORDS["alice"])
    accounts.add_user("bob", PASSWORDS["bob"], "editor", actor=SYSTEM)
    accounts.add_user("vera", PASSWORDS["vera"], "viewer", actor=SYSTEM)
    return {"alice": Actor("alice", "admin"), "bob": Actor("bob", "editor"), "vera": Actor("vera", "viewer")}
