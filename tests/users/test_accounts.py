"""Accounts: Argon2 hashes, sign-in, lock-out, the first admin's token, roles, SSO mapping, the CLI."""

from __future__ import annotations

import logging
import os
import stat

import pytest

from aigc_core.errors import AigcError, PermissionDeniedError, UserInputError
from aigc_core.settings import Settings, reset_settings
from aigc_core.store import Generation, User, session_scope
from aigc_core.users import accounts, audit
from aigc_core.users.__main__ import main as cli
from aigc_core.users.roles import SYSTEM, Actor
from tests.users.conftest import PASSWORDS


def test_passwords_are_argon2_hashes_never_stored_or_logged(team, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    accounts.authenticate("bob", PASSWORDS["bob"])
    with session_scope() as s:
        row = s.query(User).filter_by(name="bob").one()
        assert row.password_hash.startswith("$argon2id$") and PASSWORDS["bob"] not in row.password_hash
    assert PASSWORDS["bob"] not in caplog.text
    events = audit.list_events(actor=SYSTEM)
    assert not any(PASSWORDS["bob"] in str(e.detail) for e in events)


def test_sign_in_right_and_wrong(team) -> None:
    assert accounts.authenticate("bob", PASSWORDS["bob"]) == Actor("bob", "editor")
    with pytest.raises(UserInputError, match="Wrong user name or password"):
        accounts.authenticate("bob", "not-the-password")
    with pytest.raises(UserInputError, match="Wrong user name or password"):  # same message: names not probed
        accounts.authenticate("nobody", "whatever-password")
    failed = audit.list_events(actor=SYSTEM, action="signin.failed")
    assert {e.actor for e in failed} == {"bob", "nobody"} and not any(e.allowed for e in failed)


def test_lock_out_after_repeated_failures(team, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGC_LOGIN_MAX_FAILURES", "3")
    reset_settings()
    for _ in range(3):
        with pytest.raises(UserInputError, match="Wrong"):
            accounts.authenticate("bob", "bad-password-123")
    with pytest.raises(UserInputError, match="locked for about"):
        accounts.authenticate("bob", PASSWORDS["bob"])  # even the right password, while locked
    accounts.reset_password("bob", "a-brand-new-password", actor=team["alice"])  # an admin lifts it
    assert accounts.authenticate("bob", "a-brand-new-password").name == "bob"


def test_disabled_users_cannot_sign_in_and_lose_their_session(team) -> None:
    assert accounts.session_user("bob") == Actor("bob", "editor")
    accounts.set_disabled("bob", actor=team["alice"])
    assert accounts.session_user("bob") is None
    with pytest.raises(UserInputError, match="disabled"):
        accounts.authenticate("bob", PASSWORDS["bob"])


@pytest.mark.parametrize(
    ("name", "password", "match"),
    [
        ("x", "long-enough-pw", "not a valid user name"),
        ("ok-name", "short", "too short"),
        ("system", "long-enough-pw", "reserved"),
        ("carol", "carol", "too short"),
        ("bob", "long-enough-pw", "exists"),
    ],
)
def test_bad_accounts_are_refused(team, name: str, password: str, match: str) -> None:
    with pytest.raises(UserInputError, match=match):
        accounts.add_user(name, password, actor=team["alice"])


def test_only_admins_manage_users_and_the_last_admin_stays(team) -> None:
    for who in (team["bob"], team["vera"]):
        with pytest.raises(PermissionDeniedError):
            accounts.add_user("carol", "carol-long-password", actor=who)
        with pytest.raises(PermissionDeniedError):
            accounts.set_role("bob", "admin", actor=who)
        with pytest.raises(PermissionDeniedError):
            accounts.list_users(actor=who)
        with pytest.raises(PermissionDeniedError):
            audit.list_events(actor=who)
    with pytest.raises(PermissionDeniedError):
        accounts.reset_password("alice", "bobs-new-password", actor=team["bob"])
    accounts.reset_password("bob", "bobs-own-new-password", actor=team["bob"])  # your own: fine
    with pytest.raises(UserInputError, match="last admin"):
        accounts.set_role("alice", "editor", actor=team["alice"])
    with pytest.raises(UserInputError, match="last admin"):
        accounts.set_disabled("alice", actor=team["alice"])
    accounts.set_role("vera", "editor", actor=team["alice"])
    assert accounts.session_user("vera") == Actor("vera", "editor")
    roles = [e for e in audit.list_events(actor=SYSTEM, action="user.role")]
    assert roles and roles[0].detail == {"from": "viewer", "to": "editor"} and roles[0].actor == "alice"


def test_first_admin_needs_the_one_time_token_and_claims_earlier_work(settings: Settings) -> None:
    with session_scope() as s:
        s.add(Generation(kind="copy", prompt="made before sign-in"))
    token = accounts.setup_token()
    assert token and accounts.setup_token() == token  # stable until used
    path = settings.resolved_data_dir / accounts.SETUP_TOKEN_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(UserInputError, match="not right"):
        accounts.create_first_admin("wrong", "alice", PASSWORDS["alice"])
    assert accounts.count_users() == 0
    actor = accounts.create_first_admin(token, "alice", PASSWORDS["alice"])
    assert actor == Actor("alice", "admin") and not path.exists() and accounts.setup_token() is None
    with pytest.raises(UserInputError, match="exists already"):
        accounts.create_first_admin(token, "mallory", "mallory-long-password")
    with session_scope() as s:
        assert s.query(Generation).one().owner == "alice"


def test_sign_in_off_is_refused_on_the_network(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGC_AUTH", "off")
    reset_settings()
    assert accounts.sign_in_required() is False
    monkeypatch.setenv("AIGC_SERVER_ADDRESS", "0.0.0.0")
    reset_settings()
    with pytest.raises(AigcError, match=r"refused while the app listens on 0\.0\.0\.0"):
        accounts.sign_in_required()
    monkeypatch.setenv("AIGC_AUTH", "on")
    reset_settings()
    assert accounts.sign_in_required() is True
    assert Settings.model_fields["server_address"].default == "127.0.0.1"  # this machine only by default


@pytest.mark.parametrize(
    ("email", "groups", "role"),
    [
        ("ann@example.com", [], "editor"),
        ("boss@example.com", [], "admin"),
        ("x@other.org", ["studio-admins"], "admin"),
        ("x@other.org", ["Studio-Viewers"], "viewer"),
        ("x@other.org", [], None),
        ("", [], None),
    ],
)
def test_sso_role_rules(email: str, groups: list[str], role: str | None) -> None:
    rules = accounts.parse_role_rules(
        "boss@example.com=admin; group:studio-admins=admin; group:studio-viewers=viewer; @example.com=editor"
    )
    assert accounts.role_for_identity(email, groups, rules) == role


def test_sso_rules_are_validated() -> None:
    with pytest.raises(UserInputError, match="has no"):
        accounts.parse_role_rules("@example.com")
    with pytest.raises(UserInputError, match="Unknown role"):
        accounts.parse_role_rules("@example.com=owner")


def test_sso_user_created_from_claims_then_admin_choice_wins(team, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIGC_SSO_ROLE_RULES", "group:studio-admins=admin;@example.com=viewer")
    reset_settings()
    ann = accounts.sso_user({"email": "ann@example.com", "email_verified": True, "name": "Ann"})
    assert ann == Actor("ann", "viewer")
    assert accounts.sso_user({"email": "ann@example.com", "groups": ["studio-admins"]}).role == "admin"
    accounts.set_role("ann", "editor", actor=team["alice"])
    assert accounts.sso_user({"email": "ann@example.com", "groups": ["studio-admins"]}).role == "editor"
    with pytest.raises(PermissionDeniedError, match="no access"):
        accounts.sso_user({"email": "eve@elsewhere.org"})
    with pytest.raises(PermissionDeniedError, match="verified"):
        accounts.sso_user({"email": "bob@example.com", "email_verified": False})
    with pytest.raises(UserInputError, match="Wrong"):  # an SSO account has no password to guess
        accounts.authenticate("ann", "")


def test_cli_adds_lists_and_audits(settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("first-admin-password\n"))
    assert cli(["add", "--admin", "root", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli(["add", "carol", "--password-stdin"]) == 1
    assert "too short" in capsys.readouterr().err
    assert cli(["list"]) == 0
    assert "root" in capsys.readouterr().out
    out = settings.resolved_data_dir / "audit.csv"
    assert cli(["audit", "--csv", str(out)]) == 0
    assert "user.first_admin" in out.read_text()


def test_the_launcher_banner_gives_the_real_address_and_the_token(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from aigc_core.launcher import sign_in_banner

    monkeypatch.setenv("AIGC_AUTH", "on")
    reset_settings()
    banner = sign_in_banner(["--server.port", "8765"])
    assert "http://localhost:8765" in banner and accounts.setup_token() in banner
    assert "python -m aigc_core.users add --admin NAME" in banner
    monkeypatch.setenv("AIGC_AUTH", "off")
    reset_settings()
    with pytest.raises(AigcError, match="refused while the app listens on 0"):  # off, but on the network
        sign_in_banner(["--server.address=0.0.0.0"])
