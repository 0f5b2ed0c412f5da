"""Sign-in limits: per client address (X-Forwarded-For believed only behind declared proxies) and
per account whatever the address; unknown emails answered exactly like wrong passwords."""

import ipaddress
import random
import uuid

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher

from apps.accounts.login_limits import _key
from apps.core.throttling import AuthRateThrottle, CallerRateThrottle, rate_limit_cache
from tests.factories.accounts import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token"


def _fresh_address() -> str:
    """An address no earlier run has used (throttle counters outlive the test database)."""
    return str(ipaddress.IPv6Address((0xFD << 120) | random.getrandbits(120)))


def _random_ipv4() -> str:
    return ".".join(str(random.randint(1, 254)) for _ in range(4))


def _fresh_email() -> str:
    return f"{uuid.uuid4().hex}@example.org"


def _sign_in(client, email, password, **extra):
    return client.post(TOKEN, {"email": email, "password": password}, format="json", **extra)


@pytest.fixture
def auth_rate(monkeypatch):
    def set_rate(rate: str) -> None:
        rates = {**AuthRateThrottle.THROTTLE_RATES, "auth": rate}
        monkeypatch.setattr(AuthRateThrottle, "THROTTLE_RATES", rates)

    return set_rate


def _assert_throttled(response):
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert int(response["Retry-After"]) > 0
    assert response.json()["status"] == 429


def test_twenty_failures_lock_the_address_and_x_forwarded_for_does_not_unlock_it(anon, auth_rate):
    auth_rate("20/min")
    user = UserFactory(email=_fresh_email())
    address = _fresh_address()

    failures = [_sign_in(anon, user.email, "wrong", REMOTE_ADDR=address) for _ in range(20)]
    assert [r.status_code for r in failures] == [401] * 20
    _assert_throttled(_sign_in(anon, user.email, "wrong", REMOTE_ADDR=address))

    spoofed = [
        _sign_in(
            anon, user.email, "wrong", REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR=_random_ipv4()
        )
        for _ in range(30)
    ]
    assert [r.status_code for r in spoofed] == [429] * 30

    right = _sign_in(anon, user.email, PASSWORD, REMOTE_ADDR=address)
    _assert_throttled(right)
    assert "token" not in right.json()


def test_the_anonymous_budget_is_per_address_whatever_x_forwarded_for_says(anon, monkeypatch):
    rates = {**CallerRateThrottle.THROTTLE_RATES, "anon": "3/hour"}
    monkeypatch.setattr(CallerRateThrottle, "THROTTLE_RATES", rates)
    address = _fresh_address()

    spent = [anon.get("/api/v1/needs/", REMOTE_ADDR=address).status_code for _ in range(3)]
    assert spent == [200] * 3

    for _ in range(5):
        _assert_throttled(
            anon.get("/api/v1/needs/", REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR=_random_ipv4())
        )
    assert anon.get("/api/v1/needs/", REMOTE_ADDR=_fresh_address()).status_code == 200


def test_behind_a_declared_proxy_the_forwarded_address_is_the_client(anon, auth_rate, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    auth_rate("20/min")
    proxy, client, neighbour = _fresh_address(), _fresh_address(), _fresh_address()
    email = _fresh_email()

    for _ in range(20):
        response = _sign_in(anon, email, "wrong", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=client)
        assert response.status_code == 401

    # What the client writes itself stands left of what the proxy appended: ignored.
    for _ in range(5):
        forwarded = f"{_random_ipv4()}, {client}"
        _assert_throttled(
            _sign_in(anon, email, "wrong", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=forwarded)
        )
    # Another client behind the same proxy has its own budget.
    other = _sign_in(anon, email, "wrong", REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=neighbour)
    assert other.status_code == 401


def test_without_a_declared_proxy_x_forwarded_for_is_ignored(anon, auth_rate):
    auth_rate("2/min")
    address = _fresh_address()

    statuses = [
        _sign_in(
            anon,
            _fresh_email(),
            "wrong",
            REMOTE_ADDR=address,
            HTTP_X_FORWARDED_FOR=_fresh_address(),
        ).status_code
        for _ in range(3)
    ]

    assert statuses == [401, 401, 429]


def test_ten_failures_lock_the_account_from_every_address(anon, settings):
    settings.LOGIN_FAILURE_LIMIT = 10
    settings.LOGIN_FAILURE_WINDOW_MINUTES = 15
    user, neighbour = UserFactory(email=_fresh_email()), UserFactory(email=_fresh_email())

    failures = [
        _sign_in(anon, user.email, "wrong", REMOTE_ADDR=_fresh_address()) for _ in range(10)
    ]
    assert [r.status_code for r in failures] == [401] * 10

    right = _sign_in(anon, user.email.upper(), PASSWORD, REMOTE_ADDR=_fresh_address())
    _assert_throttled(right)
    assert 0 < int(right["Retry-After"]) <= 15 * 60
    assert "token" not in right.json()
    # The lock is the account's, not the address's.
    assert (
        _sign_in(anon, neighbour.email, PASSWORD, REMOTE_ADDR=_fresh_address()).status_code == 201
    )


def test_a_successful_sign_in_clears_the_count(anon, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    user = UserFactory(email=_fresh_email())

    assert [_sign_in(anon, user.email, "wrong").status_code for _ in range(3)] == [401] * 3
    # 3 failures spent the limit: the 4th attempt is refused even with the right password...
    assert _sign_in(anon, user.email, PASSWORD).status_code == 429
    other = UserFactory(email=_fresh_email())
    assert [_sign_in(anon, other.email, "wrong").status_code for _ in range(2)] == [401] * 2
    assert _sign_in(anon, other.email, PASSWORD).status_code == 201
    # ...while a success below the limit starts the count again.
    assert [_sign_in(anon, other.email, "wrong").status_code for _ in range(3)] == [401] * 3


def test_an_unknown_email_is_answered_exactly_like_a_wrong_password(anon, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    known, unknown = UserFactory(email=_fresh_email()).email, _fresh_email()

    for _ in range(2):
        wrong = _sign_in(anon, known, "wrong", REMOTE_ADDR=_fresh_address())
        nobody = _sign_in(anon, unknown, "wrong", REMOTE_ADDR=_fresh_address())
        assert (wrong.status_code, wrong.json()) == (nobody.status_code, nobody.json())
        assert wrong.status_code == 401
    wrong = _sign_in(anon, known, "wrong", REMOTE_ADDR=_fresh_address())
    nobody = _sign_in(anon, unknown, "wrong", REMOTE_ADDR=_fresh_address())
    assert wrong.status_code == nobody.status_code == 429
    same_shape = {"type", "title", "status", "code"}
    assert {k: wrong.json()[k] for k in same_shape} == {k: nobody.json()[k] for k in same_shape}


class CountingHasher(MD5PasswordHasher):
    """MD5 (the test suite's hasher) that counts how often it hashes."""

    calls = 0

    def encode(self, password, salt):
        type(self).calls += 1
        return super().encode(password, salt)


def test_an_unknown_email_costs_the_same_password_hashing_as_a_wrong_password(anon, settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    known = UserFactory(email=_fresh_email()).email

    CountingHasher.calls = 0
    assert _sign_in(anon, known, "wrong").status_code == 401
    for_a_wrong_password = CountingHasher.calls

    CountingHasher.calls = 0
    assert _sign_in(anon, _fresh_email(), "wrong").status_code == 401
    for_an_unknown_email = CountingHasher.calls

    assert for_a_wrong_password == for_an_unknown_email == 1


def test_the_per_account_counter_is_keyed_by_a_keyed_hash_not_the_email(settings):
    email = "Layla@Example.org"
    key = _key(email)

    assert "layla" not in key.lower() and "example" not in key
    assert key == _key(" layla@example.org ")
    settings.SECRET_KEY = "another-secret-key-" * 3
    assert _key(email) != key
    assert rate_limit_cache.get(key) is None
