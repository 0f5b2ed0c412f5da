"""With Redis down (cache and broker at a closed port), reads and writes keep working: rate
limits fall back to process memory, and a write whose task cannot be sent still commits."""

import logging
import uuid

import pytest

from apps.matching.models import MatchRun
from apps.pledges.models import Pledge
from config.celery_app import app as celery_app
from tests.conftest import client_for
from tests.factories.accounts import PASSWORD, UserFactory

DEAD = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def redis_down(settings):
    """The cache and the broker both point at a closed port; tasks are really sent (not run
    in-process), so enqueueing meets the dead broker."""
    conf = celery_app.conf  # loaded from the settings before they are overridden
    saved = (conf.broker_url, conf.task_always_eager, celery_app._pool, celery_app.amqp)
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DEAD}
    }
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.MATCHING_TRIGGER_ON_CHANGE = True
    conf.broker_url, conf.task_always_eager = DEAD, False
    celery_app._pool = None  # connections to the real broker are not reused
    celery_app.amqp._producer_pool = None
    yield
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    conf.broker_url, conf.task_always_eager, celery_app._pool, _ = saved
    celery_app.amqp._producer_pool = None


@pytest.mark.django_db(transaction=True)
def test_reads_and_writes_work_with_redis_down(redis_down, caplog):
    caplog.set_level(logging.WARNING)
    user = UserFactory(email=f"{uuid.uuid4().hex}@example.org")

    needs = [client_for().get("/api/v1/needs/") for _ in range(5)]
    assert [r.status_code for r in needs] == [200] * 5

    signed_in = client_for().post(
        "/api/v1/auth/token", {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert signed_in.status_code == 201, signed_in.content

    pledge = client_for(user).post(
        "/api/v1/pledges/",
        {"amount": "2500.00", "currency": "USD", "earmark_sectors": ["food_security"]},
        format="json",
    )
    assert pledge.status_code == 201, pledge.content
    assert Pledge.objects.filter(pk=pledge.json()["id"], amount="2500.00").exists()
    # The full run the pledge asked for is recorded in PostgreSQL, waiting for the broker.
    assert MatchRun.objects.filter(mode=MatchRun.Mode.FULL, status=MatchRun.Status.QUEUED).exists()

    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    cache_warnings = [r for r in warnings if r.name == "apps.core.throttling"]
    assert len(cache_warnings) == 1, [r.getMessage() for r in cache_warnings]
    assert any(
        r.name == "apps.matching.triggers" and "not enqueued" in r.getMessage() for r in warnings
    )


@pytest.mark.django_db
def test_rate_limits_still_hold_with_redis_down(redis_down, monkeypatch):
    from apps.core.throttling import CallerRateThrottle

    rates = {**CallerRateThrottle.THROTTLE_RATES, "anon": "3/hour"}
    monkeypatch.setattr(CallerRateThrottle, "THROTTLE_RATES", rates)
    address = f"fd00::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"
    client = client_for()

    statuses = [client.get("/api/v1/needs/", REMOTE_ADDR=address).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
