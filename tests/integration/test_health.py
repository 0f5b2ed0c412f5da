"""/healthz reports the database, the broker, the workers (by their heartbeats in this
deployment's database) and the ledger; 503 names the part that is down."""

import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.core.models import WorkerHeartbeat
from config.celery_app import app as celery_app
from tests.integration.conftest import WorkerProcess, _test_database_url, wait_for

pytestmark = pytest.mark.worker


def healthz(client):
    started = time.perf_counter()
    response = client.get("/healthz")
    print(f"\n[healthz] {response.status_code} in {(time.perf_counter() - started) * 1000:.1f} ms")
    return response


def test_healthy_with_a_real_worker_whose_heartbeat_names_its_queues(client, worker, broker):
    beat = wait_for(lambda: WorkerHeartbeat.objects.first())
    assert sorted(beat.queues) == ["default", "matching", "notify", "screening"]

    response = healthz(client)

    assert response.status_code == 200, response.json()
    checks = response.json()["checks"]
    assert checks["database"] == {"status": "up", "vendor": "postgresql"}
    transport = {"redis": "redis", "rabbitmq": "amqp"}[broker.name]
    assert checks["broker"] == {"status": "up", "transport": transport}
    assert checks["workers"] == {"status": "up", "count": 1}


def test_a_stopped_worker_removes_its_heartbeat(client, worker):
    wait_for(lambda: WorkerHeartbeat.objects.exists())

    worker.stop()

    assert not WorkerHeartbeat.objects.exists()
    response = healthz(client)
    assert response.status_code == 503
    assert response.json()["checks"]["workers"]["status"] == "down"


def test_unavailable_once_a_killed_workers_heartbeat_goes_stale(
    client, transactional_db, django_db_serialized_rollback, broker_tasks, settings, tmp_path
):
    settings.HEALTH_WORKER_STALE_SECONDS = 2
    worker = WorkerProcess(
        _test_database_url(), tmp_path / "worker.log", HEALTH_HEARTBEAT_SECONDS="0.5"
    ).start()
    try:
        wait_for(lambda: client.get("/healthz").status_code == 200)
    finally:
        worker.kill()  # SIGKILL: its heartbeat row stays, and ages

    response = wait_for(lambda: (r := client.get("/healthz")).status_code == 503 and r)

    checks = response.json()["checks"]
    assert checks["workers"]["status"] == "down"
    assert checks["workers"]["error"] == (
        "no live worker heartbeat for queue(s) default, matching, notify, screening"
    )
    assert checks["database"]["status"] == "up" and checks["broker"]["status"] == "up"


def test_a_stale_heartbeat_is_down_and_a_fresh_one_is_up(client, db, broker_tasks, settings):
    beat = WorkerHeartbeat.objects.create(
        hostname="w1@host",
        queues=list(settings.CELERY_QUEUE_NAMES),
        pid=1,
        started_at=timezone.now() - timedelta(hours=1),
        last_seen=timezone.now() - timedelta(minutes=5),
    )

    stale = healthz(client)
    beat.last_seen = timezone.now()
    beat.save()
    fresh = healthz(client)

    assert stale.status_code == 503
    assert stale.json()["checks"]["workers"]["status"] == "down"
    assert fresh.status_code == 200, fresh.json()
    assert fresh.json()["checks"]["workers"] == {"status": "up", "count": 1}


def test_each_queue_needs_a_worker_and_the_one_without_is_named(client, db, broker_tasks):
    """One worker command per queue: /healthz is up once every queue has a live worker."""
    for queue in ("default", "matching", "notify"):
        WorkerHeartbeat.objects.create(
            hostname=f"{queue}@host",
            queues=[queue],
            pid=1,
            started_at=timezone.now(),
            last_seen=timezone.now(),
        )

    missing = healthz(client)
    WorkerHeartbeat.objects.create(
        hostname="screening@host",
        queues=["screening"],
        pid=1,
        started_at=timezone.now(),
        last_seen=timezone.now(),
    )
    complete = healthz(client)

    assert missing.status_code == 503
    assert missing.json()["checks"]["workers"] == {
        "status": "down",
        "error": "no live worker heartbeat for queue(s) screening",
        "count": 3,
    }
    assert complete.status_code == 200, complete.json()
    assert complete.json()["checks"]["workers"] == {"status": "up", "count": 4}


def test_a_worker_of_another_deployment_on_the_same_broker_does_not_answer_for_this_one(
    client, transactional_db, django_db_serialized_rollback, broker_tasks, tmp_path
):
    """Its heartbeat goes to its own database (here: the server's `postgres` database), while it
    consumes the same queue on the same broker and answers a ping."""
    other_database = _test_database_url().rsplit("/", 1)[0] + "/postgres"
    other = WorkerProcess(other_database, tmp_path / "other.log").start()
    try:
        assert celery_app.control.ping(timeout=1.0)  # a worker answers

        response = healthz(client)
    finally:
        other.stop()

    assert response.status_code == 503
    assert response.json()["checks"]["workers"]["status"] == "down"
    assert not WorkerHeartbeat.objects.exists()


def test_unavailable_when_the_broker_is_unreachable(client, db, settings):
    previous = celery_app.conf.broker_url  # read (and so loaded) before the override
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = healthz(client)
    finally:
        celery_app.conf.broker_url = previous

    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["status"] == "down"
    assert response.json()["checks"]["workers"]["status"] == "down"


def test_a_successful_reconcile_is_recorded_by_default_and_the_ledger_is_up(client, db):
    call_command("reconcile", "--no-record")
    assert client.get("/healthz").json()["checks"]["ledger"]["status"] == "unknown"

    call_command("reconcile")

    ledger = client.get("/healthz").json()["checks"]["ledger"]
    assert ledger["status"] == "up" and ledger["differences"] == 0
