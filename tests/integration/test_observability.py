"""Logs and metrics across processes: a task a request enqueues logs, in the worker process, the
request's id; the worker serves its task counts on WORKER_METRICS_PORT; /metrics reports the
messages waiting in the broker, and still answers when the broker is down."""

import json
import socket
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from aidmatch.access import PlatformRole
from apps.core.tasks import purge_idempotency_records
from apps.matching.models import MatchRun
from config.celery_app import app as celery_app
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.integration.conftest import wait_for

TOKEN = "metrics-test-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def samples_of(text: str) -> dict:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(client) -> dict:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return samples_of(response.content.decode())


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN


def json_lines(path) -> list[dict]:
    lines = []
    for raw in path.read_text().splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue  # Celery's banner
    return lines


@pytest.mark.worker
def test_a_task_sent_by_a_request_logs_its_request_id_in_the_worker(
    django_db_serialized_rollback, transactional_db, broker_tasks, tmp_path
):
    from tests.integration.conftest import WorkerProcess, _test_database_url

    port = free_port()
    worker = WorkerProcess(
        _test_database_url(),
        tmp_path / "worker.log",
        LOG_FORMAT="json",
        WORKER_METRICS_PORT=str(port),
        WORKER_METRICS_ADDRESS="127.0.0.1",
    ).start()
    try:
        verifier = client_for(UserFactory(platform_role=PlatformRole.VERIFIER))
        response = verifier.post(
            "/api/v1/match-runs", {"mode": "full"}, HTTP_X_REQUEST_ID="itest-req-42"
        )
        assert response.status_code == 202
        run_id = response.json()["id"]
        wait_for(lambda: MatchRun.objects.get(pk=run_id).status == "succeeded")

        def task_lines():
            return [
                line
                for line in json_lines(worker.log_path)
                if line.get("task_name") == "apps.matching.tasks.run_matching"
            ]

        lines = wait_for(task_lines)
        assert all(line["request_id"] == "itest-req-42" for line in lines)
        assert all(line["task_id"] for line in lines)
        assert any("succeeded" in line["message"] for line in lines)

        def counted():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                samples = samples_of(r.read().decode())
            labels = (("state", "SUCCESS"), ("task", "apps.matching.tasks.run_matching"))
            return samples.get(("aidmatch_celery_tasks_total", labels))

        assert wait_for(counted) >= 1
    finally:
        worker.stop()


@pytest.mark.worker
def test_metrics_reports_messages_waiting_for_a_worker(
    anon, token, broker_tasks, django_db_serialized_rollback, transactional_db
):
    before = scrape(anon)
    assert before[("aidmatch_celery_broker_up", ())] == 1
    assert sum(v for (n, _), v in before.items() if n == "aidmatch_celery_queue_messages") == 0

    purge_idempotency_records.delay()
    purge_idempotency_records.delay()  # no worker runs: both wait in the queue
    after = scrape(anon)

    depths = {
        labels[0][1]: v for (n, labels), v in after.items() if n == "aidmatch_celery_queue_messages"
    }
    assert sorted(depths.values())[-1] == 2 and sum(depths.values()) == 2  # in its queue
    celery_app.control.purge()


@pytest.mark.worker
def test_a_broker_that_is_down_does_not_fail_metrics(anon, token, broker_tasks, db):
    # Set back here, not by monkeypatch: its undo could run after broker_tasks has put the
    # run's own broker back, and would then leave this process on the test's broker.
    conf = celery_app.conf
    previous = (conf["broker_url"], conf["broker_read_url"])
    conf["broker_url"] = conf["broker_read_url"] = "redis://127.0.0.1:1/0"
    try:
        samples = scrape(anon)
    finally:
        conf["broker_url"], conf["broker_read_url"] = previous

    assert samples[("aidmatch_celery_broker_up", ())] == 0
    assert samples[("aidmatch_scrape_errors", (("part", "queues"),))] == 0
    assert samples[("aidmatch_scrape_errors", (("part", "outbox"),))] == 0
    assert not any(n == "aidmatch_celery_queue_messages" for n, _ in samples)
