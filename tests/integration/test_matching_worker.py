"""Matching with a real Celery worker process on Redis (and again on RabbitMQ) and PostgreSQL,
each task on its own queue: a pledge posted through
the API is proposed within seconds; a worker killed in the middle of a run loses nothing and
applies nothing twice, and a whole worker killed is detected by the run's lease and its runs
retried; triggers during a long run coalesce into one follow-up; concurrent pledges, edits,
withdrawals and runs never over-allocate; a matching task waits for a worker of the `matching`
queue."""

import random
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import psycopg2
import pytest
from django.db import connection, connections
from django.db.models import Count, Q, Sum

from aidmatch.access import MemberRole
from aidmatch.lifecycle import ALLOCATION_LIVE, AllocationStatus
from apps.core.models import Lease
from apps.ledger.models import ReconcileRun
from apps.ledger.reconcile import reconcile
from apps.ledger.tasks import reconcile_ledger
from apps.matching.models import Allocation, MatchRun
from apps.matching.services.runs import LEASE_NAME, match_run_execute, match_run_request
from apps.matching.tasks import run_matching, schedule_full_run, send_run
from apps.needs.models import Need
from apps.pledges.models import Pledge
from config.celery_app import app as celery_app
from tests.conftest import client_for
from tests.factories import MembershipFactory, NeedFactory, PledgeFactory, UserFactory
from tests.integration.conftest import WorkerProcess, _test_database_url, wait_for

pytestmark = pytest.mark.worker


@pytest.fixture
def matching_on(settings):
    settings.MATCHING_TRIGGER_ON_CHANGE = True


def assert_money_holds():
    """Sums of live allocations equal the cached totals and never exceed the amounts."""
    live = [s.value for s in ALLOCATION_LIVE]
    for pledge in Pledge.objects.annotate(
        proposed=Sum("allocations__amount", filter=Q(allocations__status="proposed")),
        live=Sum("allocations__amount", filter=Q(allocations__status__in=live)),
    ):
        assert pledge.proposed_amount == (pledge.proposed or 0), pledge.pk
        assert (pledge.live or 0) <= pledge.amount, pledge.pk
    for need in Need.objects.annotate(
        proposed=Sum("allocations__need_amount", filter=Q(allocations__status="proposed")),
        live=Sum("allocations__need_amount", filter=Q(allocations__status__in=live)),
    ):
        assert need.proposed_amount == (need.proposed or 0), need.pk
        assert (need.live or 0) <= need.amount, need.pk
    duplicates = (
        Allocation.objects.filter(status=AllocationStatus.PROPOSED)
        .values("pledge_id", "need_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert not duplicates.exists()
    report = reconcile()
    assert report.ok, report.render()


def test_a_pledge_posted_through_the_api_is_proposed_by_the_worker_within_seconds(
    worker, matching_on
):
    need = NeedFactory(amount=Decimal("800.00"), urgency=5, sector_id="education")
    donor = UserFactory()
    client = client_for(donor)

    started = time.monotonic()
    response = client.post(
        "/api/v1/pledges/",
        {"amount": "500.00", "currency": "USD", "earmark_sectors": ["education"]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    pledge_id = response.json()["id"]
    allocation = wait_for(lambda: Allocation.objects.filter(pledge_id=pledge_id).first())
    seconds = time.monotonic() - started
    print(f"\n[matching] pledge → proposal by the worker in {seconds:.2f}s")

    assert allocation.need_id == need.pk and allocation.amount == Decimal("500.00")
    listed = client.get(f"/api/v1/allocations/?pledge={pledge_id}").json()["results"]
    assert listed[0]["explanation"]["admitted_by"].endswith("earmark")
    committed = client.post(f"/api/v1/allocations/{allocation.pk}/commit")
    assert committed.status_code == 200, committed.json()
    assert committed.json()["status"] == "committed"
    # the debounced full run comes after the incremental one and keeps what was committed
    wait_for(lambda: MatchRun.objects.filter(mode="full", status="succeeded").exists())
    assert_money_holds()


def test_a_worker_killed_in_the_middle_of_a_run_loses_nothing_and_applies_nothing_twice(
    django_db_serialized_rollback, transactional_db, broker_tasks, tmp_path
):
    for i in range(30):
        PledgeFactory(amount=Decimal("100.00") + i)
    for i in range(20):
        NeedFactory(amount=Decimal("250.00"), urgency=1 + i % 5)
    env = {
        "CELERY_VISIBILITY_TIMEOUT": "3",
        "CELERY_UNACKED_RESTORE_INTERVAL": "1",
        "CELERY_UNACKED_RESTORE_THROTTLE": "1",
        "MATCHING_RUN_LEASE_SECONDS": "3",
        "MATCHING_SWEEP_SECONDS": "1",
    }
    first = WorkerProcess(_test_database_url(), tmp_path / "first.log", **env).start()
    # Hold the write, so the run stops inside its write transaction.
    blocker = psycopg2.connect(_test_database_url())
    blocker.autocommit = False
    with blocker.cursor() as cursor:
        cursor.execute(HOLD_THE_WRITE)
    try:
        # As the API sends a manual run: queued first, its message carries its id. (A message
        # without a run, redelivered at once as RabbitMQ does while the dead worker's lease
        # still holds, would queue a second full run of its own, and which of the two
        # allocated first would be a race.)
        run = match_run_request(trigger="manual")
        send_run(run)
        wait_for(lambda: MatchRun.objects.filter(pk=run.pk, status="running").exists())
        wait_for(_a_backend_waits_on_a_lock)
    finally:
        first.kill()  # SIGKILL, mid-write: its transaction is rolled back by PostgreSQL
        blocker.rollback()
        blocker.close()
    assert not Allocation.objects.exists()  # nothing of the killed run was written
    run.refresh_from_db()
    assert run.status == "running" and run.attempts == 1
    # the dead worker gave nothing back: its matching lease stays until it expires
    dead_lease = Lease.objects.get(name=LEASE_NAME)
    assert dead_lease.holder.split(":")[1] == str(first.proc.pid)

    second = WorkerProcess(_test_database_url(), tmp_path / "second.log", **env).start()
    try:
        wait_for(lambda: MatchRun.objects.filter(pk=run.pk, status="succeeded").exists())
        wait_for(lambda: not MatchRun.objects.filter(status__in=["queued", "running"]).exists())
    finally:
        second.stop()

    run.refresh_from_db()
    assert run.attempts == 2 and run.created > 0  # the same run, redelivered and finished
    # taken over after it expired, by the second worker, which gave it back when done
    assert run.started_at > dead_lease.expires_at
    assert not Lease.objects.filter(name=LEASE_NAME).exists()
    assert second.proc.pid != first.proc.pid
    assert Allocation.objects.filter(match_run=run).count() == run.created
    assert_money_holds()
    again = match_run_execute(trigger="manual")
    assert (again.created, again.resized, again.released) == (0, 0, 0)


# A run skips rows another transaction holds (SKIP LOCKED) rather than waiting on them. To stop
# it inside its write transaction, after its row locks: an uncommitted proposal for every pair,
# so that its insert waits on the one-proposal-per-pair index until the blocker rolls back.
HOLD_THE_WRITE = (
    "INSERT INTO matching_allocation (id, pledge_id, need_id, status, amount, need_amount, "
    "rate, rate_source, disbursed_amount, explanation, close_reason, proposed_at, updated_at) "
    "SELECT gen_random_uuid(), p.id, n.id, 'proposed', 1, 1, 1, '', 0, '{}', '', now(), now() "
    "FROM pledges_pledge p CROSS JOIN needs_need n"
)


def _a_backend_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_concurrent_pledges_edits_withdrawals_and_runs_never_over_allocate(worker, matching_on):
    rng = random.Random(20261124)
    needs = [NeedFactory(amount=Decimal("400.00"), urgency=rng.randint(1, 5)) for _ in range(8)]
    staff = MembershipFactory(organization=needs[0].organization, role=MemberRole.STAFF).user
    donors = [UserFactory() for _ in range(5)]
    clients = {d.pk: client_for(d) for d in donors}
    staff_client = client_for(staff)
    pledge_ids: list[str] = []

    def act(i: int) -> int:
        try:
            kind = i % 4
            if kind == 0 or not pledge_ids:
                donor = donors[i % len(donors)]
                r = clients[donor.pk].post(
                    "/api/v1/pledges/",
                    {"amount": f"{rng.randint(50, 300)}.00", "currency": "USD"},
                    format="json",
                )
                if r.status_code == 201:
                    pledge_ids.append(r.json()["id"])
                return r.status_code
            if kind == 1:
                need = needs[0]
                r = staff_client.patch(
                    f"/api/v1/needs/{need.pk}/",
                    {"amount": f"{rng.randint(100, 600)}.00"},
                    format="json",
                )
                return r.status_code
            if kind == 2:
                pledge = Pledge.objects.get(pk=rng.choice(pledge_ids))
                return (
                    clients[pledge.donor_id]
                    .post(f"/api/v1/pledges/{pledge.pk}/withdraw")
                    .status_code
                )
            run_matching.delay(trigger="manual", mode="full")
            return 202
        finally:
            connections.close_all()

    statuses = []
    for _round in range(3):
        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses += list(pool.map(act, range(20)))
        assert all(s < 500 for s in statuses), statuses
    # stop the worker (it finishes the run it is in), then one more run, and check
    worker.stop()
    match_run_execute(trigger="manual")
    print(
        f"\n[matching concurrency] statuses {sorted(set(statuses))}; "
        f"{Allocation.objects.count()} allocations; runs "
        f"{MatchRun.objects.filter(status='succeeded').count()}"
    )
    assert Allocation.objects.filter(status=AllocationStatus.PROPOSED).exists()
    assert_money_holds()


def a_small_world():
    for i in range(30):
        PledgeFactory(amount=Decimal("100.00") + i)
    for i in range(20):
        NeedFactory(amount=Decimal("250.00"), urgency=1 + i % 5)


def test_triggers_during_a_long_run_coalesce_into_one_follow_up_and_nothing_retries(
    transactional_db, django_db_serialized_rollback, broker_tasks, verifier_client, tmp_path
):
    a_small_world()
    workers = []
    blocker = psycopg2.connect(_test_database_url())
    blocker.autocommit = False
    try:
        # prefork with one child, as in production: a solo worker runs the task in its event
        # loop, and on RabbitMQ (which pushes) the prefetch window it widened for a countdown
        # task stays wide during the run, so the follow-up would wait in the busy worker
        workers = [
            WorkerProcess(
                _test_database_url(), tmp_path / f"worker-{i}.log", pool="prefork"
            ).start()
            for i in range(2)
        ]
        with blocker.cursor() as cursor:
            cursor.execute(HOLD_THE_WRITE)
        schedule_full_run(reason="the first change")
        first = wait_for(lambda: MatchRun.objects.filter(status="running").first())
        wait_for(_a_backend_waits_on_a_lock)

        def trigger(i: int) -> None:  # what every committed change calls (apps/matching/triggers)
            try:
                schedule_full_run(reason=f"change {i}")
            finally:
                connections.close_all()

        with ThreadPoolExecutor(max_workers=10) as pool:
            list(pool.map(trigger, range(300)))
        manual = verifier_client.post("/api/v1/match-runs/", {"reason": "now"}, format="json")
        assert manual.status_code == 202, manual.json()
        # the follow-up was delivered to the free worker, found the lock held, and waits for
        # the run to finish (deferred: no message) instead of retrying every few seconds
        wait_for(lambda: MatchRun.objects.filter(status="queued", enqueued_at=None).exists())
        assert MatchRun.objects.filter(status="queued").count() == 2  # the follow-up, the manual

        blocker.rollback()
        wait_for(
            lambda: (
                not MatchRun.objects.filter(status__in=["queued", "running"]).exists()
                and MatchRun.objects.filter(status="succeeded").count() == 3
            )
        )
    finally:
        blocker.close()
        for worker in workers:
            worker.stop()

    automatic = MatchRun.objects.filter(mode="full").exclude(trigger="manual")
    assert [r.status for r in automatic] == ["succeeded", "succeeded"]  # the run + one follow-up
    assert first.pk in {r.pk for r in automatic}
    assert MatchRun.objects.get(pk=manual.json()["id"]).status == "succeeded"
    assert MatchRun.objects.count() == 3
    logs = "".join(w.log_path.read_text() for w in workers)
    assert "Retry in" not in logs
    assert_money_holds()


def test_a_whole_worker_killed_mid_run_is_found_by_its_lease_and_its_runs_retried(
    transactional_db, django_db_serialized_rollback, broker_tasks, verifier_client, tmp_path
):
    """kill -9 of the worker's process group with the broker's visibility timeout left at its
    default (an hour, Redis): the run it held and a queued manual run, both messages lost with
    it, are retried by the next worker, within the lease and the sweep interval."""
    a_small_world()
    env = {"MATCHING_RUN_LEASE_SECONDS": "3", "MATCHING_SWEEP_SECONDS": "1"}
    first = WorkerProcess(_test_database_url(), tmp_path / "first.log", **env).start()
    blocker = psycopg2.connect(_test_database_url())
    blocker.autocommit = False
    with blocker.cursor() as cursor:
        cursor.execute(HOLD_THE_WRITE)
    try:
        schedule_full_run(reason="a change")
        run = wait_for(lambda: MatchRun.objects.filter(status="running").first())
        wait_for(_a_backend_waits_on_a_lock)
        manual = verifier_client.post("/api/v1/match-runs/", {"reason": "now"}, format="json")
        assert manual.status_code == 202, manual.json()
        wait_for(lambda: MatchRun.objects.get(pk=run.pk).lease_expires_at > run.lease_expires_at)
    finally:
        first.kill_group()  # SIGKILL to the main process and its children
        blocker.rollback()
        blocker.close()
    broker_tasks.settle()  # RabbitMQ: the run's message is back in its queue
    celery_app.control.purge()  # the manual run's message (and the run's) is lost with the worker
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("running", 1)
    dead_lease = Lease.objects.get(name=LEASE_NAME)  # left held by the dead worker
    assert dead_lease.holder.split(":")[1] == str(first.proc.pid)
    assert MatchRun.objects.get(pk=manual.json()["id"]).status == "queued"

    second = WorkerProcess(_test_database_url(), tmp_path / "second.log", **env).start()
    try:
        wait_for(
            lambda: MatchRun.objects.filter(status="succeeded").count() == 2,
            timeout=40,  # lease 3 s + sweep 1 s, then the runs themselves
        )
    finally:
        second.stop()
        broker_tasks.forget_unacknowledged()

    run.refresh_from_db()
    manual_run = MatchRun.objects.get(pk=manual.json()["id"])
    assert run.status == "succeeded" and run.attempts == 2
    assert manual_run.attempts == 1
    # Whichever of the two ran first made the proposals; the other found nothing to change.
    assert run.created + manual_run.created > 0
    assert Allocation.objects.filter(status=AllocationStatus.PROPOSED).exists()
    assert MatchRun.objects.count() == 2
    # the retried run took the matching lease over once it had expired, and gave it back
    assert run.started_at > dead_lease.expires_at
    assert not Lease.objects.filter(name=LEASE_NAME).exists()
    assert_money_holds()


def test_each_task_goes_to_its_queue_and_waits_for_a_worker_of_that_queue(
    transactional_db, django_db_serialized_rollback, broker_tasks, tmp_path
):
    """Sent with delay(), a matching run goes to `matching` and the ledger's reconcile to
    `default`: a worker of `default` reconciles and leaves the run; a worker of `matching`
    runs it and leaves the next reconcile."""
    a_small_world()
    defaults = WorkerProcess(
        _test_database_url(), tmp_path / "default.log", queues=("default",)
    ).start()
    try:
        sent = run_matching.delay(trigger="manual", mode="full")
        reconcile_ledger.delay()
        wait_for(lambda: ReconcileRun.objects.exists())
    finally:
        defaults.stop()
    assert not MatchRun.objects.exists() and not Allocation.objects.exists()
    assert broker_tasks.queue_length("matching") == 1

    reconcile_ledger.delay()
    matching = WorkerProcess(
        _test_database_url(), tmp_path / "matching.log", queues=("matching",)
    ).start()
    try:
        run = wait_for(lambda: MatchRun.objects.filter(task_id=sent.id, status="succeeded").first())
    finally:
        matching.stop()
    assert run.created > 0 and Allocation.objects.filter(match_run=run).count() == run.created
    assert ReconcileRun.objects.count() == 1
    assert broker_tasks.queue_length("default") == 1
    assert broker_tasks.queue_length("matching") == 0
