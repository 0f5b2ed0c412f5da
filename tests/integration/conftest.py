"""Real processes: a Celery worker against a broker (Redis, and again RabbitMQ: the ``broker``
fixture) and the test PostgreSQL database."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from config.celery_app import app as celery_app
from tests.integration.brokers import (
    RABBITMQ_URL,
    Broker,
    rabbitmq_vhost_create,
    rabbitmq_vhost_delete,
    use_broker,
)

ROOT = Path(__file__).resolve().parents[2]


def process_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env.update(overrides)
    return env


class WorkerProcess:
    """A ``celery worker`` subprocess using the test database and this process's broker,
    consuming every queue unless ``queues`` names some; can be killed and restarted."""

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        queues: tuple[str, ...] = (),
        pool: str = "solo",
        **env: str,
    ) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.queues = queues or tuple(django_settings.CELERY_QUEUE_NAMES)
        self.pool = pool  # "solo", or "prefork" (one child: the production matching worker)
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        env = process_env(
            DATABASE_URL=self.database_url,
            DJANGO_SETTINGS_MODULE="config.settings.test",
            CELERY_TASK_ALWAYS_EAGER="false",
            DATABASE_CONN_MAX_AGE="0",
            CELERY_BROKER_URL=celery_app.conf.broker_url,  # where this process sends tasks
        )
        env.update(self.env)
        log = open(self.log_path, "ab")  # noqa: SIM115 (closed with the process)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config.celery_app",
                "worker",
                f"--pool={self.pool}",
                "--concurrency=1",
                "--loglevel=INFO",
                "--without-mingle",
                "--without-gossip",
                "-Q",
                ",".join(self.queues),
                "-n",
                f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so kill_group reaches it all
        )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log_path.read_text()[-3000:]}")
            if celery_app.control.ping(timeout=0.5):
                return
        raise RuntimeError(f"worker not ready:\n{self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no chance to finish, ack or clean up."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def kill_group(self) -> None:
        """SIGKILL to the worker's whole process group: the main process and any child."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def _test_database_url() -> str:
    s = connection.settings_dict
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    user = s.get("USER") or "postgres"
    return f"postgres://{user}@{host}:{port}/{s['NAME']}"


@pytest.fixture(scope="session")
def rabbitmq_vhost():
    """A RabbitMQ virtual host of this test process's own, for the session."""
    vhost = rabbitmq_vhost_create()
    yield vhost
    rabbitmq_vhost_delete(vhost)


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request) -> Broker:
    """Every worker test runs on both brokers (``-k rabbitmq`` selects the RabbitMQ runs).
    Outside tests/integration, ``broker`` is this run's Redis (tests/conftest.py)."""
    if request.param == "redis":
        return Broker("redis", django_settings.CELERY_BROKER_URL)
    vhost = request.getfixturevalue("rabbitmq_vhost")
    return Broker("rabbitmq", f"{RABBITMQ_URL}/{vhost}", vhost)


@pytest.fixture
def broker_tasks(settings, broker):
    """Send tasks through ``broker`` instead of running them in-process, for this test; the
    workers started meanwhile consume from the same broker. On Redis, the broker this process
    is configured with (a test may have pointed it at a Redis of its own)."""
    conf = celery_app.conf
    previous = (conf.broker_url, conf.broker_transport_options)
    eager = conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = False
    conf.task_always_eager = False
    if broker.name == "rabbitmq":
        use_broker(broker.url, {})  # the Redis-only transport options are not RabbitMQ's
    celery_app.control.purge()
    yield broker
    conf.task_always_eager = eager
    if broker.name == "rabbitmq":
        use_broker(*previous)


@pytest.fixture
def worker(django_db_serialized_rollback, transactional_db, broker_tasks, tmp_path):
    """A running worker process; the test's data is committed so the worker can see it."""
    process = WorkerProcess(_test_database_url(), tmp_path / "worker.log").start()
    yield process
    process.stop()


def wait_for(predicate, timeout=45.0, step=0.2):
    """Poll ``predicate`` until it returns something true (returned), within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"not within {timeout}s")
