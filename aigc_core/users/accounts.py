"""User accounts in the store: Argon2 password hashes, lock-out, the first admin's set-up token, single sign-on."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update

from aigc_core.errors import AigcError, NotFoundError, PermissionDeniedError, UserInputError
from aigc_core.settings import Settings, get_settings
from aigc_core.store import session_scope
from aigc_core.store.models import (
    AlertRule,
    BrandKit,
    Dataset,
    Generation,
    Job,
    ModelVersion,
    Monitor,
    User,
    as_utc,
    utcnow,
)
from aigc_core.users.audit import record
from aigc_core.users.roles import LOCAL, ROLES, Actor, Role, require

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
MIN_PASSWORD = 10
SETUP_TOKEN_FILE = ".setup-token"
OWNED_TABLES = (Dataset, Generation, Job, ModelVersion, Monitor, BrandKit, AlertRule)


@dataclass(frozen=True)
class UserInfo:
    """A user as the admin page lists it (never the hash)."""

    name: str
    role: Role
    email: str
    disabled: bool
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None
    sso: bool

    @property
    def actor(self) -> Actor:
        """This user as the acting user."""
        return Actor(self.name, self.role)


def _info(row: User) -> UserInfo:
    return UserInfo(
        name=row.name,
        role=row.role if row.role in ROLES else "viewer",
        email=row.email,
        disabled=row.disabled,
        locked_until=as_utc(row.locked_until),
        created_at=as_utc(row.created_at) or utcnow(),
        last_login_at=as_utc(row.last_login_at),
        sso=not row.password_hash,
    )


def _hasher():  # noqa: ANN202 - argon2.PasswordHasher
    from argon2 import PasswordHasher

    return PasswordHasher()


def validate_name(name: str) -> str:
    """A user name: 2-64 letters, digits and ``._@-``, starting with a letter or digit."""
    name = (name or "").strip()
    if not NAME_RE.match(name):
        raise UserInputError(
            f"“{name[:40]}” is not a valid user name.",
            hint="Use 2-64 letters, digits, dots, dashes, underscores or @, starting with a letter or digit.",
        )
    if name.lower() in {"system", "local"}:
        raise UserInputError(f"“{name}” is reserved.", hint="Pick another name.")
    return name


def validate_password(password: str, name: str = "") -> str:
    """At least MIN_PASSWORD characters, and not the user name."""
    if len(password or "") < MIN_PASSWORD:
        raise UserInputError(
            f"The password is too short ({len(password or '')} characters).",
            hint=f"Use at least {MIN_PASSWORD} characters; a few unrelated words are easy to remember.",
        )
    if name and password.strip().lower() == name.lower():
        raise UserInputError("The password may not be the user name.", hint="Pick another password.")
    return password


def _role(role: str) -> Role:
    if role not in ROLES:
        raise UserInputError(f"Unknown role “{role}”.", hint=f"Pick one of {', '.join(ROLES)}.")
    return role


def count_users() -> int:
    """How many accounts exist (0 on a fresh install)."""
    with session_scope() as s:
        return int(s.scalar(select(func.count()).select_from(User)) or 0)


def _create(name: str, password: str, role: Role, email: str = "") -> UserInfo:
    name = validate_name(name)
    validate_password(password, name)
    with session_scope() as s:
        if s.scalar(select(User).where(func.lower(User.name) == name.lower())) is not None:
            raise UserInputError(f"A user “{name}” already exists.", hint="Pick another name.")
        row = User(name=name, role=role, email=email.strip(), password_hash=_hasher().hash(password))
        s.add(row)
        s.flush()
        return _info(row)


def add_user(
    name: str, password: str, role: str = "editor", *, actor: Actor | None = None, email: str = ""
) -> UserInfo:
    """A new account (admins only)."""
    who = require(actor, "admin", what="adding users")
    info = _create(name, password, _role(role), email)
    record(who, "user.add", "user", info.name, detail={"role": info.role})
    return info


def list_users(*, actor: Actor | None = None) -> list[UserInfo]:
    """Every account, by name (admins only)."""
    require(actor, "admin", what="the user list")
    with session_scope() as s:
        return [_info(r) for r in s.scalars(select(User).order_by(User.name))]


def _get_row(s: Any, name: str) -> User:
    row = s.scalar(select(User).where(User.name == name))
    if row is None:
        raise NotFoundError(f"No user “{name}”.", hint="Check the name on the Users page.")
    return row


def _admins_left(s: Any, without: str) -> int:
    return int(
        s.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == "admin", User.disabled.is_(False), User.name != without)
        )
        or 0
    )


def set_role(name: str, role: str, *, actor: Actor | None = None) -> UserInfo:
    """Change a user's role (admins only; the last admin keeps the role)."""
    who = require(actor, "admin", what="changing roles")
    new = _role(role)
    with session_scope() as s:
        row = _get_row(s, name)
        if row.role == "admin" and new != "admin" and _admins_left(s, name) == 0:
            raise UserInputError("This is the last admin.", hint="Make someone else an admin first.")
        old, row.role = row.role, new
        row.meta = {**(row.meta or {}), "role_set_by_admin": True}
        info = _info(row)
    record(who, "user.role", "user", name, detail={"from": old, "to": new})
    return info


def set_disabled(name: str, disabled: bool = True, *, actor: Actor | None = None) -> UserInfo:
    """Disable (or enable again) an account; a disabled user's sessions end at their next page run."""
    who = require(actor, "admin", what="disabling users")
    with session_scope() as s:
        row = _get_row(s, name)
        if disabled and row.role == "admin" and _admins_left(s, name) == 0:
            raise UserInputError("This is the last admin.", hint="Make someone else an admin first.")
        row.disabled = disabled
        if not disabled:
            row.failed_logins, row.locked_until = 0, None
        info = _info(row)
    record(who, "user.disable" if disabled else "user.enable", "user", name)
    return info


def reset_password(name: str, password: str, *, actor: Actor | None = None) -> UserInfo:
    """Set a new password (admins for anyone; a user for themself) and lift a lock-out."""
    who = require(actor, "read", what="passwords")
    if not who.is_admin and who.name != name:
        raise PermissionDeniedError("Only an admin may set another user's password.", hint="Ask an admin.")
    validate_password(password, name)
    with session_scope() as s:
        row = _get_row(s, name)
        row.password_hash = _hasher().hash(password)
        row.failed_logins, row.locked_until = 0, None
        info = _info(row)
    record(who, "user.password", "user", name)
    return info


def authenticate(name: str, password: str, *, settings: Settings | None = None) -> Actor:
    """The user for a correct name and password; a clear error otherwise (locked, disabled, wrong)."""
    settings = settings or get_settings()
    wrong = UserInputError("Wrong user name or password.", hint="Check both; names are case-sensitive.")
    name = (name or "").strip()
    now = utcnow()
    with session_scope() as s:
        row = s.scalar(select(User).where(User.name == name)) if name else None
        if row is None or not row.password_hash:
            _hasher().hash(password or "x")  # the same time as a real check, so names cannot be probed
            record(name or "?", "signin.failed", "user", name, detail={"why": "unknown user"}, allowed=False)
            raise wrong
        locked = as_utc(row.locked_until)
        if row.disabled:
            record(name, "signin.failed", "user", name, detail={"why": "disabled"}, allowed=False)
            raise UserInputError("This account is disabled.", hint="Ask an admin to enable it.")
        if locked and locked > now:
            minutes = max(1, int((locked - now).total_seconds() // 60) + 1)
            record(name, "signin.failed", "user", name, detail={"why": "locked"}, allowed=False)
            raise UserInputError(
                f"Too many failed sign-ins: this account is locked for about {minutes} more minute(s).",
                hint="Wait, or ask an admin to reset the password.",
            )
        from argon2.exceptions import VerificationError

        try:
            _hasher().verify(row.password_hash, password or "")
        except VerificationError:
            row.failed_logins = (row.failed_logins or 0) + 1
            detail: dict[str, Any] = {"why": "wrong password", "failures": row.failed_logins}
            if row.failed_logins >= settings.login_max_failures:
                row.locked_until = now + timedelta(minutes=settings.login_lock_minutes)
                row.failed_logins = 0
                detail["locked_minutes"] = settings.login_lock_minutes
            s.commit()
            record(name, "signin.failed", "user", name, detail=detail, allowed=False)
            raise wrong from None
        if _hasher().check_needs_rehash(row.password_hash):
            row.password_hash = _hasher().hash(password)
        row.failed_logins, row.locked_until, row.last_login_at = 0, None, now
        actor = Actor(row.name, _info(row).role)
    record(actor, "signin", "user", actor.name)
    return actor


def session_user(name: str) -> Actor | None:
    """The user behind a browser session, re-read on every page run (None: gone or disabled)."""
    with session_scope() as s:
        row = s.scalar(select(User).where(User.name == name))
        if row is None or row.disabled:
            return None
        return Actor(row.name, _info(row).role)


# First admin ---------------------------------------------------------------------------------------
def _token_path(settings: Settings) -> Path:
    return settings.resolved_data_dir / SETUP_TOKEN_FILE


def setup_token(settings: Settings | None = None) -> str | None:
    """The one-time token that creates the first admin, made on first call while no user exists
    (None once someone has an account). Stored owner-readable only under the data dir."""
    settings = settings or get_settings()
    path = _token_path(settings)
    if count_users() > 0:
        path.unlink(missing_ok=True)
        return None
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token)
    return token


def create_first_admin(token: str, name: str, password: str, *, settings: Settings | None = None) -> Actor:
    """The first admin, with the set-up token printed in the terminal; claims what was made before sign-in."""
    settings = settings or get_settings()
    expected = setup_token(settings)
    if expected is None:
        raise UserInputError("The first admin exists already.", hint="Sign in, or ask an admin for an account.")
    if not secrets.compare_digest((token or "").strip(), expected):
        record(name or "?", "setup.failed", "user", name, allowed=False)
        raise UserInputError("That set-up token is not right.", hint="Copy it from the terminal that runs the app.")
    return _bootstrap_admin(name, password, settings)


def _bootstrap_admin(name: str, password: str, settings: Settings) -> Actor:
    info = _create(name, password, "admin")
    claimed = claim_unowned(info.name)
    _token_path(settings).unlink(missing_ok=True)
    record(info.name, "user.first_admin", "user", info.name, detail={"claimed": claimed})
    return info.actor


def claim_unowned(name: str) -> int:
    """Give everything made before sign-in existed (owner '') to ``name``; how many rows."""
    n = 0
    with session_scope() as s:
        for table in OWNED_TABLES:
            done = cast("CursorResult[Any]", s.execute(update(table).where(table.owner == "").values(owner=name)))
            n += done.rowcount or 0  # an UPDATE returns a CursorResult (Session.execute is typed as Result)
    return n


def add_admin_cli(name: str, password: str, *, settings: Settings | None = None) -> UserInfo:
    """An admin from the server's terminal (the operator is trusted); the first one claims earlier work."""
    settings = settings or get_settings()
    if count_users() == 0:
        _bootstrap_admin(name, password, settings)
        with session_scope() as s:
            return _info(_get_row(s, name))
    from aigc_core.users.roles import SYSTEM

    return add_user(name, password, "admin", actor=SYSTEM)


# Single sign-on ------------------------------------------------------------------------------------
def parse_role_rules(raw: str) -> list[tuple[str, Role]]:
    """``match=role`` pairs of AIGC_SSO_ROLE_RULES, checked."""
    rules: list[tuple[str, Role]] = []
    for part in (raw or "").split(";"):
        if not part.strip():
            continue
        if "=" not in part:
            raise UserInputError(
                f"AIGC_SSO_ROLE_RULES: “{part.strip()}” has no “=role”.", hint="e.g. @example.com=editor"
            )
        match, role = (x.strip() for x in part.rsplit("=", 1))
        if not match:
            raise UserInputError("AIGC_SSO_ROLE_RULES: a rule without a match.", hint="e.g. @example.com=editor")
        rules.append((match.lower(), _role(role)))
    return rules


def role_for_identity(email: str, groups: list[str] | tuple[str, ...], rules: list[tuple[str, Role]]) -> Role | None:
    """The role the first matching rule gives (an address, an ``@domain`` or ``group:<name>``), or None."""
    email = (email or "").strip().lower()
    domain = "@" + email.rsplit("@", 1)[-1] if "@" in email else ""
    low_groups = {g.lower() for g in groups or ()}
    for match, role in rules:
        if match.startswith("group:"):
            if match[6:] in low_groups:
                return role
        elif match.startswith("@"):
            if domain and domain == match:
                return role
        elif email and email == match:
            return role
    return None


def sso_user(claims: dict[str, Any], *, settings: Settings | None = None) -> Actor:
    """The studio user for the identity provider's claims (``st.user``): found by e-mail, or created with the
    role AIGC_SSO_ROLE_RULES gives; an admin's own role choice wins over the rules."""
    settings = settings or get_settings()
    email = str(claims.get("email") or "").strip()
    if not email or claims.get("email_verified") is False:
        raise PermissionDeniedError("Your sign-in did not give a verified e-mail address.", hint="Ask an admin.")
    groups = claims.get("groups") or []
    groups = [str(g) for g in groups] if isinstance(groups, list | tuple) else [str(groups)]
    role = role_for_identity(email, groups, parse_role_rules(settings.sso_role_rules))
    with session_scope() as s:
        row = s.scalar(select(User).where(func.lower(User.email) == email.lower()))
        if row is None:
            if role is None:
                record(email, "signin.failed", "user", email, detail={"why": "no SSO rule"}, allowed=False)
                raise PermissionDeniedError(
                    f"{email} has no access to this studio yet.",
                    hint="Ask an admin to add you or a rule for your group.",
                )
            base = re.sub(r"[^A-Za-z0-9._@-]", "", email.split("@")[0])[:40] or "user"
            name, i = base, 1
            while len(name) < 2 or s.scalar(select(User).where(User.name == name)) is not None:
                i += 1
                name = f"{base}{i}"
            row = User(name=name, email=email, role=role, password_hash="")
            s.add(row)
        elif row.disabled:
            raise PermissionDeniedError("This account is disabled.", hint="Ask an admin to enable it.")
        elif role is not None and not (row.meta or {}).get("role_set_by_admin"):
            row.role = role
        row.last_login_at = utcnow()
        s.flush()
        actor = Actor(row.name, _info(row).role)
    record(actor, "signin.sso", "user", actor.name, detail={"email": email})
    return actor


# Is sign-in on? -------------------------------------------------------------------------------------
def listens_locally(address: str) -> bool:
    """True for loopback addresses and ``localhost``."""
    a = (address or "").strip().lower()
    if a == "localhost":
        return True
    try:
        return ipaddress.ip_address(a).is_loopback
    except ValueError:
        return False


def sign_in_required(settings: Settings | None = None) -> bool:
    """Sign-in is on unless AIGC_AUTH=off on a loopback address; off on the network is refused."""
    settings = settings or get_settings()
    if settings.auth == "on":
        return True
    if not listens_locally(settings.server_address):
        raise AigcError(
            f"AIGC_AUTH=off is refused while the app listens on {settings.server_address}.",
            hint="Keep sign-in on, or set AIGC_SERVER_ADDRESS=127.0.0.1.",
        )
    return False


def local_actor() -> Actor:
    """The acting user when sign-in is off."""
    return LOCAL
