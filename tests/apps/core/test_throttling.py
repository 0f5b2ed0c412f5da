"""Throttling: one budget per user and per API key (in Redis), answered with 429 and
Retry-After once spent."""

import pytest

from apps.core.throttling import CallerRateThrottle
from tests.conftest import client_for
from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db

BUDGET = 3


@pytest.fixture(autouse=True)
def _small_budget(monkeypatch):
    rates = {**CallerRateThrottle.THROTTLE_RATES, "caller": f"{BUDGET}/hour"}
    monkeypatch.setattr(CallerRateThrottle, "THROTTLE_RATES", rates)


def _spend(client, path="/api/v1/needs/") -> list[int]:
    return [client.get(path).status_code for _ in range(BUDGET + 1)]


def _assert_throttled(response):
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    assert int(response["Retry-After"]) > 0
    assert response.json()["status"] == 429


def test_a_user_over_budget_gets_429_with_retry_after_and_others_do_not():
    alice, bob = client_for(UserFactory()), client_for(UserFactory())

    assert _spend(alice) == [200] * BUDGET + [429]
    _assert_throttled(alice.get("/api/v1/needs/"))
    assert bob.get("/api/v1/needs/").status_code == 200


def test_every_token_of_one_user_shares_the_users_budget():
    user = UserFactory()
    first, second = client_for(user), client_for(user)

    assert [first.get("/api/v1/needs/").status_code for _ in range(BUDGET)] == [200] * BUDGET
    _assert_throttled(second.get("/api/v1/needs/"))


def test_each_api_key_has_its_own_budget(org_x):
    _, key = ApiKeyFactory.create(organization=org_x, scopes=["needs:read"])
    _, other_key = ApiKeyFactory.create(organization=org_x, scopes=["needs:read"])
    partner, other = client_for(api_key=key), client_for(api_key=other_key)

    assert _spend(partner) == [200] * BUDGET + [429]
    _assert_throttled(partner.get("/api/v1/needs/"))
    assert other.get("/api/v1/needs/").status_code == 200
