"""Throttling: one budget per user and per API key (in Redis), answered with 429 and
Retry-After once spent."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from apps.core.throttling import CallerRateThrottle, rate_limit_cache
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


def _burst(key: str, budget: int, callers: int) -> list[bool]:
    """``callers`` threads count a request under ``key`` at the same instant."""
    start = threading.Barrier(callers)

    def one(_):
        start.wait()
        return rate_limit_cache.hit(key, budget, 60)[0]

    with ThreadPoolExecutor(callers) as pool:
        return list(pool.map(one, range(callers)))


def test_a_concurrent_burst_gets_exactly_the_budget_in_redis():
    assert isinstance(caches["default"], RedisCache)  # the suite's shared cache is Redis
    key = f"test-burst:{uuid.uuid4().hex}"

    admitted = _burst(key, budget=6, callers=32)

    assert admitted.count(True) == 6
    allowed, wait = rate_limit_cache.hit(key, 6, 60)
    assert not allowed and 59 < wait <= 60


def test_a_concurrent_burst_gets_exactly_the_budget_in_process_memory():
    key = f"test-burst:{uuid.uuid4().hex}"
    memory = rate_limit_cache.local
    start = threading.Barrier(16)

    def one(_):
        start.wait()
        return rate_limit_cache._memory_hit(memory, key, 5, 60)[0]

    with ThreadPoolExecutor(16) as pool:
        admitted = list(pool.map(one, range(16)))

    assert admitted.count(True) == 5


def test_the_window_slides_a_request_is_admitted_again_once_the_oldest_leaves_it():
    key = f"test-window:{uuid.uuid4().hex}"

    assert [rate_limit_cache.hit(key, 2, 0.3)[0] for _ in range(3)] == [True, True, False]
    time.sleep(0.35)
    assert rate_limit_cache.hit(key, 2, 0.3)[0] is True
