"""/healthz reports the database, the broker and the workers; 503 names the part that is down."""

import pytest

pytestmark = pytest.mark.worker


def test_healthy_with_a_real_worker(client, worker):
    response = client.get("/healthz")

    assert response.status_code == 200, response.json()
    checks = response.json()["checks"]
    assert checks["database"] == {"status": "up", "vendor": "postgresql"}
    assert checks["broker"]["status"] == "up"
    assert checks["workers"]["status"] == "up" and checks["workers"]["count"] >= 1


def test_unavailable_when_the_worker_is_killed(client, worker):
    worker.kill()

    response = client.get("/healthz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["workers"]["status"] == "down"
    assert checks["database"]["status"] == "up"


def test_unavailable_when_the_broker_is_unreachable(client, db, settings):
    from config.celery_app import app as celery_app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/healthz")
    finally:
        celery_app.conf.broker_url = previous

    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "down"
    assert response.json()["checks"]["workers"]["status"] == "down"
