"""Outgoing HTTP requests to user-given URLs (alert webhooks) without server-side request forgery.

- Only ``http`` and ``https`` URLs.
- The host is resolved when the request is sent; it is refused when any of its addresses is internal
  (loopback, private, link-local, multicast, reserved, unspecified, shared/CGNAT, cloud metadata, also
  when wrapped in IPv4-mapped, 6to4, Teredo or NAT64 IPv6), unless an admin allowed the host name with
  ``AIGC_WEBHOOK_ALLOWED_HOSTS``.
- The connection goes to the address that was checked (the name is not looked up a second time, so a
  DNS answer that changes between the check and the connection cannot redirect it); the ``Host`` header,
  TLS SNI and certificate check still use the host name.
- Redirects are never followed and environment proxies are not used.
- Error messages are generic (no addresses, ports or socket errors), so the feature is not a port scanner.

:func:`mask_url` hides the secrets of a URL (userinfo, query values, the token part of chat webhook paths)
for display and logs.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import logging
import re
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from aigc_core.errors import UserInputError
from aigc_core.settings import get_settings

log = logging.getLogger(__name__)

SCHEMES = ("http", "https")
DEFAULT_TIMEOUT_S = 5.0
MAX_RESPONSE_BYTES = 64 * 1024
MASK = "***"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack …
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS over IPv6
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")

# Chat webhook hosts whose path carries the secret: host (or suffix after a dot) -> path segments kept.
_SECRET_PATH_HOSTS: dict[str, int] = {
    "hooks.slack.com": 1,  # /services/T…/B…/token, /workflows/…, /triggers/…
    "discord.com": 2,  # /api/webhooks/id/token
    "discordapp.com": 2,
    "webhook.office.com": 1,  # <tenant>.webhook.office.com/webhookb2/…
    "outlook.office.com": 1,  # /webhook/…
    "outlook.office365.com": 1,
    "hooks.zapier.com": 2,  # /hooks/catch/…
    "api.telegram.org": 0,  # /bot<token>/sendMessage
    "maker.ifttt.com": 3,  # /trigger/<event>/with/key/<key>
}
# Self-hosted hooks (Mattermost, Rocket.Chat, Gitea, n8n …): the segments after one of these are secret.
_SECRET_AFTER = {"hooks", "webhooks", "webhook", "webhookb2", "services", "key", "keys", "token", "tokens"}
_TOKEN_LIKE = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-.~%+=]{20,}$")


class WebhookError(Exception):
    """A webhook could not be delivered; ``str()`` is a message safe to show to any user."""


class BlockedAddressError(WebhookError):
    """The URL points at an internal address and its host is not allowed."""


# --------------------------------------------------------------------------------------------
# Addresses
# --------------------------------------------------------------------------------------------
def _embedded_ipv4(addr: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64)."""
    out: list[ipaddress.IPv4Address] = []
    if addr.ipv4_mapped is not None:
        out.append(addr.ipv4_mapped)
    if addr.sixtofour is not None:
        out.append(addr.sixtofour)
    if addr.teredo is not None:
        out.extend(addr.teredo)
    if addr in _NAT64:
        out.append(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF))
    # IPv4-compatible (deprecated ::a.b.c.d), e.g. ::127.0.0.1
    if int(addr) >> 32 == 0 and int(addr) > 1:
        out.append(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF))
    return out


def is_internal_address(ip: str | IPAddress) -> bool:
    """True for an address a webhook must not reach (internal, special-purpose or metadata)."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0] if isinstance(ip, str) else ip)
    except ValueError:
        return True  # not an address we understand: refuse
    if addr in METADATA_ADDRESSES:
        return True
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:  # ::ffff:a.b.c.d is the IPv4 address itself
            return is_internal_address(addr.ipv4_mapped)
        if addr in _NAT64_LOCAL:
            return True
        if any(is_internal_address(v4) for v4 in _embedded_ipv4(addr)):
            return True
    return bool(
        addr.is_loopback
        or addr.is_private
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
        or not addr.is_global  # shared address space 100.64/10, documentation, benchmarking …
    )


def literal_address(host: str) -> IPAddress | None:
    """The address when ``host`` is an IP literal (also legacy IPv4 forms like ``127.1`` or ``0x7f000001``)."""
    h = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(h)
    except ValueError:
        pass
    if h and re.fullmatch(r"[0-9a-fA-FxX.]+", h) and re.search(r"\d", h):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(h))
        except OSError:
            return None
    return None


def _norm_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def host_allowed(host: str) -> bool:
    """True when an admin allowed ``host`` to resolve to internal addresses (``AIGC_WEBHOOK_ALLOWED_HOSTS``)."""
    allowed = {_norm_host(h) for h in get_settings().webhook_allowed_host_set}
    return _norm_host(host) in allowed


# --------------------------------------------------------------------------------------------
# URLs
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str
    userinfo: str


def _parse(url: str) -> _Target:
    """Scheme, host, port and request path of an http(s) URL; WebhookError when it is not one."""
    try:
        u = urlsplit((url or "").strip())
        port = u.port
        host = u.hostname or ""
    except ValueError as exc:
        raise WebhookError("the webhook URL is not valid") from exc
    scheme = u.scheme.lower()
    if scheme not in SCHEMES or not host:
        raise WebhookError("the webhook URL must start with http:// or https:// and name a host")
    if any(c.isspace() or ord(c) < 32 for c in url.strip()):
        raise WebhookError("the webhook URL contains spaces or control characters")
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    userinfo = u.netloc.rpartition("@")[0] if "@" in u.netloc else ""
    return _Target(scheme, host, port or (443 if scheme == "https" else 80), path, userinfo)


def validate_webhook_url(url: str) -> None:
    """Refuse (UserInputError) a webhook URL that is not http(s) or names an internal IP literally.

    Host names are checked when a webhook is sent, since what they resolve to can change.
    """
    try:
        target = _parse(url)
    except WebhookError as exc:
        raise UserInputError(
            f"The webhook {mask_url(url)!r} is not usable: {exc}.", hint="e.g. https://hooks.example.com/abc"
        ) from exc
    addr = literal_address(target.host)
    if addr is not None and is_internal_address(addr) and not host_allowed(target.host):
        raise UserInputError(
            f"The webhook {mask_url(url)!r} points at an internal address ({addr}).",
            hint="Give a public address; an admin can allow an internal host with AIGC_WEBHOOK_ALLOWED_HOSTS.",
        )


def mask_url(url: str) -> str:
    """The URL with its secrets replaced by ``***``: userinfo, query and fragment values, webhook path tokens."""
    try:
        u = urlsplit(url or "")
        host = u.hostname or ""
    except ValueError:
        return MASK if url else ""
    netloc = u.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    segments = u.path.split("/")
    keep = _kept_segments(host.lower(), segments)
    masked_path: list[str] = []
    n_seen = 0
    for seg in segments:
        if not seg:
            masked_path.append(seg)
            continue
        n_seen += 1
        secret = (keep is not None and n_seen > keep) or _TOKEN_LIKE.match(unquote(seg)) is not None
        masked_path.append(MASK if secret else seg)
    path = "/".join(masked_path)
    query = "&".join(_mask_pair(p) for p in u.query.split("&")) if u.query else ""
    fragment = MASK if u.fragment else ""
    return urlunsplit((u.scheme, netloc, path, query, fragment))


def _kept_segments(host: str, segments: list[str]) -> int | None:
    """How many leading path segments of a known webhook path stay visible (None: no rule)."""
    for known, keep in _SECRET_PATH_HOSTS.items():
        if host == known or host.endswith("." + known):
            return keep
    names = [s for s in segments if s]
    for i, seg in enumerate(names):
        if seg.lower() in _SECRET_AFTER and i + 1 < len(names):
            return i + 1
    return None


def _mask_pair(pair: str) -> str:
    """``key=***`` for a query pair with a value; a bare long token becomes ``***``."""
    key, sep, value = pair.partition("=")
    if sep:
        return f"{key}={MASK}" if value else pair
    return MASK if len(key) >= 16 or _TOKEN_LIKE.match(key) else key


# --------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------
def resolve_checked(host: str, port: int) -> list[tuple[int, int, int, Any]]:
    """``(family, type, proto, sockaddr)`` of every address of ``host``; BlockedAddressError when any is internal
    (unless the host is allowed), WebhookError when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise WebhookError("could not resolve the webhook's host name") from exc
    out: list[tuple[int, int, int, Any]] = [(fam, typ, proto, sockaddr) for fam, typ, proto, _canon, sockaddr in infos]
    if not out:
        raise WebhookError("could not resolve the webhook's host name")
    if not host_allowed(host) and any(is_internal_address(str(sa[0])) for *_, sa in out):
        raise BlockedAddressError(
            "the webhook's address is internal (loopback, private, link-local or metadata) and not allowed; "
            "an admin can allow the host with AIGC_WEBHOOK_ALLOWED_HOSTS"
        )
    return out


def _connect(addresses: list[tuple[int, int, int, Any]], timeout: float) -> socket.socket:
    """A TCP socket connected to the first reachable vetted address."""
    last: OSError | None = None
    for fam, typ, proto, sockaddr in addresses:
        sock = socket.socket(fam, typ, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            last = exc
            sock.close()
    raise last or OSError("no address")


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to a vetted address; the Host header names the URL's host."""

    def __init__(self, host: str, port: int, addresses: list[tuple[int, int, int, Any]], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._addresses = addresses

    def connect(self) -> None:
        """Connect to the vetted address instead of looking the name up again."""
        self.sock = _connect(self._addresses, float(self.timeout or DEFAULT_TIMEOUT_S))


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a vetted address; SNI and the certificate check use the URL's host."""

    def __init__(self, host: str, port: int, addresses: list[tuple[int, int, int, Any]], timeout: float) -> None:
        context = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=context)
        self._addresses = addresses
        self._tls = context

    def connect(self) -> None:
        """Connect to the vetted address, then start TLS for the host name."""
        sock = _connect(self._addresses, float(self.timeout or DEFAULT_TIMEOUT_S))
        try:
            self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def post_json(url: str, body: dict[str, Any], *, timeout: float = DEFAULT_TIMEOUT_S) -> int:
    """POST ``body`` as JSON to a user-given URL with the checks above; the 2xx status, else WebhookError."""
    target = _parse(url)
    shown = mask_url(url)
    addresses = resolve_checked(target.host, target.port)
    cls = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = cls(target.host, target.port, addresses, timeout)
    data = json.dumps(body, default=str).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "aigc-studio"}
    if target.userinfo:
        headers["Authorization"] = "Basic " + base64.b64encode(unquote(target.userinfo).encode()).decode("ascii")
    try:
        conn.request("POST", target.path, body=data, headers=headers)
        resp = conn.getresponse()
        status = int(resp.status)
        resp.read(MAX_RESPONSE_BYTES)
    except (OSError, http.client.HTTPException) as exc:  # refused, timed out, TLS, bad answer: one message
        log.info("webhook %s: %s: %s", shown, type(exc).__name__, exc)
        raise WebhookError("could not reach the webhook (connection failed, timed out or TLS error)") from exc
    finally:
        conn.close()
    if 300 <= status < 400:
        raise WebhookError("the webhook answered with a redirect; give its final address")
    if not 200 <= status < 300:
        raise WebhookError(f"the webhook answered HTTP {status}")
    return status
