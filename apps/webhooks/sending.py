"""One HTTP attempt: resolve the host, refuse addresses that are not public, connect to the very
address that was checked, sign per Standard Webhooks, and read at most a bounded response.

The host is resolved here, at send time, and the request goes to the checked IP (the URL's
host travels in the ``Host`` header and, for https, as the TLS server name, so the certificate is
still checked against it): a name that resolves to a public address when checked cannot be
re-resolved to a private one for the connection (no DNS rebinding window).
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from standardwebhooks.webhooks import Webhook

USER_AGENT = "AidMatch-Webhooks/1"


class AddressRefused(Exception):
    """The URL's host resolves to an address webhooks may not reach."""


@dataclass
class AttemptResult:
    status_code: int | None
    duration_ms: int
    error: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def sign(secrets: list[str], msg_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header: one ``v1,<base64>`` per secret, space-separated."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return " ".join(Webhook(s).sign(msg_id=msg_id, timestamp=moment, data=body) for s in secrets)


def address_refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why webhooks may not reach ``ip`` (None when they may): anything not globally routable
    (loopback, private, link-local and so cloud metadata, CGNAT, reserved, unspecified),
    multicast, and IPv4-mapped or NAT64-embedded forms of those."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None:
            return address_refusal(embedded)
        if ip in ipaddress.IPv6Network("64:ff9b::/96"):  # NAT64 to an IPv4 address
            return address_refusal(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.is_multicast:
        return "multicast"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_unspecified:
        return "unspecified"
    if not ip.is_global:
        return "private or reserved"
    return None


def resolve_checked(host: str, port: int) -> str:
    """One address of ``host`` that webhooks may reach; every address it resolves to is checked
    (a name with one private address among public ones is refused)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefused(f"cannot resolve {host}: {exc}") from exc
    addresses = []
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise AddressRefused(f"{host} has no address")
    if not settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        for ip in addresses:
            reason = address_refusal(ip)
            if reason:
                raise AddressRefused(f"{host} resolves to a {reason} address ({ip}): refused")
    return str(addresses[0])


_client: httpx.Client | None = None


def _http() -> httpx.Client:
    global _client
    if _client is None:
        _client = httpx.Client(
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: we connect where we checked
            limits=httpx.Limits(max_keepalive_connections=0),
        )
    return _client


def post(url: str, body: str, headers: dict[str, str]) -> AttemptResult:
    """POST ``body`` to ``url`` once; never raises for the network or the receiver."""
    started = time.monotonic()

    def done(status_code=None, error=""):
        return AttemptResult(status_code, int((time.monotonic() - started) * 1000), error[:500])

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        ip = resolve_checked(host, port)
    except AddressRefused as exc:
        return done(error=str(exc))
    netloc_ip = f"[{ip}]" if ":" in ip else ip
    target = parts._replace(netloc=f"{netloc_ip}:{port}").geturl()
    host_header = parts.netloc.rsplit("@", 1)[-1]
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    timeout = settings.WEBHOOKS_TIMEOUT_SECONDS
    limit = settings.WEBHOOKS_MAX_RESPONSE_BYTES
    try:
        request = _http().build_request(
            "POST",
            target,
            content=body.encode(),
            headers={
                **headers,
                "Host": host_header,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
            timeout=httpx.Timeout(timeout),
            extensions=extensions,
        )
        response = _http().send(request, stream=True)
        try:
            read = 0
            deadline = started + timeout
            for chunk in response.iter_raw():
                read += len(chunk)
                if read >= limit or time.monotonic() > deadline:
                    break  # the status is what counts; the rest of the body is not read
        finally:
            response.close()
    except httpx.HTTPError as exc:
        return done(error=f"{type(exc).__name__}: {exc}")
    except OSError as exc:
        return done(error=f"{type(exc).__name__}: {exc}")
    error = "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    return done(response.status_code, error)
