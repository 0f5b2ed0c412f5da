"""Many processes, one database, one broker: two API servers (gunicorn, 2 workers each) and three
Celery workers (every queue), spoken to over real HTTP. What one process guarantees holds across
them all: matching runs one at a time, an Idempotency-Key makes one pledge, a rate limit is one
budget."""

import itertools
import os
import signal
import socket
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from aidmatch.access import PlatformRole
from apps.accounts.services import token_create
from apps.matching.models import Allocation, MatchRun
from apps.matching.services.runs import match_run_execute
from apps.pledges.models import Pledge
from config.celery_app import app as celery_app
from tests.factories import NeedFactory, PledgeFactory, UserFactory
from tests.integration.conftest import ROOT, _test_database_url, process_env, wait_for
from tests.integration.test_matching_worker import assert_money_holds

pytestmark = [pytest.mark.worker, pytest.mark.server]

SERVERS, SERVER_WORKERS, CELERY_WORKERS = 2, 2, 3
ANON_RATE = 6  # anonymous requests per hour per address, across every server
CALLER_RATE = 12  # a signed-in caller's requests per hour, across every server (> 10 runs below)
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """The processes of one deployment: API servers started once for the module, workers
    started for each test and stopped before its rows are removed (a flush's TRUNCATE beside
    live workers writing heartbeats and relaying events could deadlock with them)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.servers: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        self.urls: list[str] = []
        self.queues = getattr(settings, "CELERY_QUEUE_NAMES", (settings.CELERY_TASK_DEFAULT_QUEUE,))
        self.env = process_env(
            DATABASE_URL=_test_database_url(),
            DJANGO_SETTINGS_MODULE="config.settings.test",
            CELERY_TASK_ALWAYS_EAGER="false",
            DATABASE_CONN_MAX_AGE="0",
            # Rate-limit counters of this run only (Redis outlives test databases).
            CACHE_KEY_PREFIX=f"many-{uuid.uuid4().hex[:8]}",
        )

    def _spawn(self, name: str, argv: list[str], **env: str) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("ab")
        return subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_servers(self) -> "Cluster":
        for i in range(SERVERS):
            port = _free_port()
            self.servers.append(
                self._spawn(
                    f"api-{i}",
                    [
                        str(BIN / "gunicorn"),
                        *("--workers", str(SERVER_WORKERS), "--bind", f"127.0.0.1:{port}"),
                        *("--log-level", "warning", "config.wsgi"),
                    ],
                    DJANGO_SETTINGS_MODULE="tests.integration.throttled_settings",
                    THROTTLE_RATE_ANON=f"{ANON_RATE}/hour",
                    THROTTLE_RATE_CALLER=f"{CALLER_RATE}/hour",
                )
            )
            self.urls.append(f"http://127.0.0.1:{port}")
        self._wait(self.servers, self._servers_ready)
        return self

    def start_workers(self) -> None:
        self.workers = [
            self._spawn(
                f"worker-{i}",
                [
                    sys.executable,
                    *("-m", "celery", "-A", "config.celery_app", "worker", "--pool=solo"),
                    *("--without-mingle", "--without-gossip", "--loglevel=INFO"),
                    *("-Q", ",".join(self.queues), "-n", f"many-{os.getpid()}-{i}@%h"),
                ],
            )
            for i in range(CELERY_WORKERS)
        ]
        self._wait(
            self.workers, lambda: len(celery_app.control.ping(timeout=0.5)) >= CELERY_WORKERS
        )

    def stop_workers(self) -> None:
        """Stop the workers (a warm shutdown: a task in hand is finished), then drop what is
        left in the queues, so that nothing of this test runs in the next one."""
        _stop(self.workers)
        self.workers = []
        celery_app.control.purge()

    def stop(self) -> None:
        _stop(self.workers + self.servers)

    def _wait(self, procs: list[subprocess.Popen], ready) -> None:
        def up() -> bool:
            if any(p.poll() is not None for p in procs):
                raise AssertionError("a process exited")
            return ready()

        try:
            wait_for(up, timeout=60, step=0.5)
        except AssertionError:
            self.stop()
            logs = {p.name: p.read_text()[-1500:] for p in self.log_dir.glob("*.log")}
            raise RuntimeError(f"the processes did not come up: {logs}") from None

    def _servers_ready(self) -> bool:
        for url in self.urls:
            try:
                if httpx.get(f"{url}/livez", timeout=2).status_code != 200:
                    return False
            except httpx.TransportError:
                return False
        return True


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


@pytest.fixture(scope="module")
def servers(django_db_setup, tmp_path_factory):
    running = Cluster(tmp_path_factory.mktemp("many-processes")).start_servers()
    yield running
    running.stop()


@pytest.fixture
def db_shared(django_db_serialized_rollback, transactional_db):
    """The test's rows are committed, so that every process sees them."""


@pytest.fixture
def cluster(servers, db_shared):
    """Two servers and three workers; the workers stop before the test's rows are removed
    (this fixture is torn down before ``db_shared``)."""
    servers.start_workers()
    yield servers
    servers.stop_workers()


def bearer(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_create(user=user)[1]}"}


def at_once(calls):
    """Run the calls in threads, all started together; their results in order."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_matching_runs_one_at_a_time_across_servers_and_workers(cluster, db_shared):
    for i in range(12):
        PledgeFactory(amount=Decimal(300 + 25 * i))
    for i in range(8):
        NeedFactory(amount=Decimal(700 + 50 * i), urgency=1 + i % 5)
    verifier = bearer(UserFactory(platform_role=PlatformRole.VERIFIER))

    # Ten manual runs, five through each server, all at once; three workers take them.
    answers = at_once(
        [
            lambda url=cluster.urls[i % SERVERS]: httpx.post(
                f"{url}/api/v1/match-runs/",
                json={"mode": "full", "reason": "many processes"},
                headers=verifier,
                timeout=30,
            )
            for i in range(10)
        ]
    )
    assert [a.status_code for a in answers] == [202] * 10
    asked = {a.json()["id"] for a in answers}
    wait_for(
        lambda: MatchRun.objects.filter(pk__in=asked, status="succeeded").count() == len(asked),
        timeout=45,
    )
    wait_for(lambda: not MatchRun.objects.filter(status__in=["queued", "running"]).exists())

    # Never two at once: the runs that took the lock, by start, each began after the last ended.
    runs = list(
        MatchRun.objects.filter(mode="full", started_at__isnull=False).order_by("started_at")
    )
    assert len(runs) >= len(asked)
    for before, after in itertools.pairwise(runs):
        assert after.started_at >= before.finished_at, (before.pk, after.pk)
    # The result is one run's: the first wrote every proposal; every later run changed nothing.
    changed = [r for r in runs if (r.created, r.resized, r.released) != (0, 0, 0)]
    assert changed == runs[:1] and runs[0].created > 0
    assert Allocation.objects.filter(status="proposed").count() == runs[0].created
    again = match_run_execute(trigger="manual")
    assert (again.created, again.resized, again.released) == (0, 0, 0)
    assert_money_holds()


def test_one_idempotency_key_sent_to_both_servers_at_once_makes_one_pledge(cluster, db_shared):
    donor = UserFactory()
    headers = {**bearer(donor), "Idempotency-Key": str(uuid.uuid4())}
    body = {"amount": "750.00", "currency": "USD", "earmark_sectors": ["education"]}

    answers = at_once(
        [
            lambda url=url: httpx.post(
                f"{url}/api/v1/pledges/", json=body, headers=headers, timeout=30
            )
            for url in cluster.urls
        ]
    )

    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    assert list(Pledge.objects.filter(donor=donor).values_list("pk", flat=True)) == [
        uuid.UUID(answers[0].json()["id"])
    ]


def test_a_rate_limit_is_one_budget_across_servers(cluster, db_shared):
    def anonymous_list(url: str) -> int:
        return httpx.get(f"{url}/api/v1/needs/", timeout=30).status_code

    # One address, alternating between the servers: the budget is spent wherever it is spent.
    statuses = [anonymous_list(cluster.urls[i % SERVERS]) for i in range(ANON_RATE)]
    assert statuses == [200] * ANON_RATE
    after = [anonymous_list(url) for url in cluster.urls]
    assert after == [429, 429]


def test_a_burst_at_once_across_servers_gets_exactly_the_budget(cluster, db_shared):
    headers = bearer(UserFactory())

    def needs(url: str) -> int:
        return httpx.get(f"{url}/api/v1/needs/", headers=headers, timeout=30).status_code

    # Twenty-four requests of one caller at the same moment, half to each server: the check and
    # the count are one step in Redis, so no two requests both take the last place.
    statuses = at_once([lambda url=cluster.urls[i % SERVERS]: needs(url) for i in range(24)])

    assert sorted(statuses) == [200] * CALLER_RATE + [429] * (24 - CALLER_RATE)
