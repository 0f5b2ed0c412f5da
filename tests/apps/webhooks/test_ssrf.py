"""No server-side request forgery: the URL's host is resolved at send time and any address that
is not public is refused (unless WEBHOOKS_ALLOW_PRIVATE_ADDRESSES), before anything is sent."""

import ipaddress

import pytest

from apps.webhooks.sending import AddressRefused, address_refusal, post, resolve_checked


@pytest.fixture(autouse=True)
def _private_refused(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # CGNAT
        "100.100.100.200",  # a cloud's metadata, in CGNAT
        "0.0.0.0",  # noqa: S104 (an address to refuse)
        "224.0.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",  # a cloud's IPv6 metadata
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
    ],
)
def test_addresses_that_are_not_public_are_refused(address):
    assert address_refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address):
    assert address_refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.7", "169.254.169.254", "::1", "localhost"])
def test_a_host_resolving_to_a_refused_address_is_refused(host):
    with pytest.raises(AddressRefused):
        resolve_checked(host, 443)


def test_nothing_is_sent_to_a_refused_address(receiver, settings):
    """The loopback receiver exists and would answer 200; with the setting off it never hears
    from us, and the attempt records why."""
    settings.WEBHOOKS_ALLOW_HTTP = True
    for url in (receiver.url, receiver.url.replace("127.0.0.1", "localhost")):
        result = post(url, "{}", {"webhook-id": "evt_x"})
        assert result.status_code is None and not result.succeeded
        assert "refused" in result.error
    assert receiver.requests == []

    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True  # the development setting
    assert post(receiver.url, "{}", {"webhook-id": "evt_x"}).status_code == 200
    assert len(receiver.requests) == 1


def test_redirects_are_not_followed(settings):
    """A 3xx is a failed attempt: the Location is never fetched."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    hits = []

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self):
            hits.append(self.path)
            self.send_response(307)
            self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    try:
        result = post(f"http://127.0.0.1:{server.server_address[1]}/hook", "{}", {})
    finally:
        server.shutdown()
        server.server_close()
    assert result.status_code == 307 and not result.succeeded
    assert hits == ["/hook"]


def test_a_large_response_is_read_only_up_to_the_limit(settings):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Huge(BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(200)
            self.send_header("Content-Length", str(50 * 1024 * 1024))
            self.end_headers()
            try:
                for _ in range(50 * 16):
                    self.wfile.write(b"x" * 65536)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Huge)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
    try:
        result = post(f"http://127.0.0.1:{server.server_address[1]}/hook", "{}", {})
    finally:
        server.shutdown()
        server.server_close()
    assert result.succeeded and result.duration_ms < 5000
