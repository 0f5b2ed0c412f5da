"""A matching run: one at a time (the "matching" lease, apps/core/leases.py), recorded as a
MatchRun.

Read the world, solve (exactly, or the greedy insert for a new pledge or need), write the
difference under row locks, then let auto-commit pledges commit what they were given.

Full runs coalesce: every trigger lands on the one queued automatic full run (a partial unique
index holds "at most one"), so a trigger during a run queues exactly one follow-up. A delivery
that finds the lease held defers its queued run (``enqueued_at`` emptied) instead of retrying;
the run holding the lease sends the deferred runs when it finishes. The executing worker renews
the matching lease and the run's lease together; the sweep retries runs whose lease ran out and
queued runs whose message was lost (``match_runs_recover``).
"""

from __future__ import annotations

import gc
import logging
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from aidmatch import matching
from aidmatch.errors import DomainError
from apps.audit.services import audit_record
from apps.core.leases import lease_acquire, lease_holder, lease_release, lease_renewer
from apps.core.logs import redact
from apps.core.workers import Housekeeper
from apps.matching.models import MatchRun
from apps.matching.services.allocations import allocation_commit
from apps.matching.services.apply import admitted_by_counts, apply_solution
from apps.matching.services.incremental import place_pledges
from apps.matching.services.snapshot import load_world

log = logging.getLogger(__name__)

# The lease that lets one full (or need-driven) run at a time write (apps.core.leases).
LEASE_NAME = "matching"


AUDITED_RUN_FIELDS = (
    "status",
    "mode",
    "trigger",
    "created",
    "resized",
    "released",
    "kept",
    "skipped_stale",
    "auto_committed",
    "solver_version",
)


class MatchingBusy(Exception):
    """Another run holds the matching lease."""


@contextmanager
def single_flight(*, wait: bool) -> Iterator[str]:
    """Hold the matching lease for the block; yields its holder's name. MatchingBusy when
    another run holds it and ``wait`` is False, or still holds it after
    MATCHING_LOCK_WAIT_SECONDS.

    A row, not a session-level advisory lock: a pooler in transaction mode (PgBouncer) hands
    every transaction whichever server connection is free, so a session lock would stay with a
    connection the run no longer has. The lease lasts MATCHING_RUN_LEASE_SECONDS and is
    renewed with the run's own lease (``_leased``); a worker killed mid-run gives nothing back,
    and the next run takes the lease over once it has expired.
    """
    holder = lease_holder()
    seconds = settings.MATCHING_RUN_LEASE_SECONDS
    waiting = settings.MATCHING_LOCK_WAIT_SECONDS if wait else 0.0
    if not lease_acquire(name=LEASE_NAME, holder=holder, seconds=seconds, wait=waiting):
        raise MatchingBusy
    try:
        yield holder
    finally:
        lease_release(name=LEASE_NAME, holder=holder)


def match_run_request(*, trigger: str, mode: str = MatchRun.Mode.FULL, reason: str = "", by=None):
    """A queued run (the manual trigger through the API); the task picks it up by id."""
    return MatchRun.objects.create(
        trigger=trigger,
        mode=mode,
        reason=reason[:200],
        requested_by=by,
        enqueued_at=timezone.now(),
    )


def full_run_request(
    *, trigger: str = MatchRun.Trigger.EVENT, reason: str = ""
) -> tuple[MatchRun, bool]:
    """The queued automatic full run that this trigger joins, and whether it is new (then the
    caller sends its message). Triggers during a run queue one follow-up, however many."""
    queued_automatic = MatchRun.objects.filter(
        status=MatchRun.Status.QUEUED, mode=MatchRun.Mode.FULL
    ).exclude(trigger=MatchRun.Trigger.MANUAL)
    for _ in range(5):
        queued = queued_automatic.first()
        if queued is not None:
            return queued, False
        try:
            with transaction.atomic():
                run = MatchRun.objects.create(
                    trigger=trigger,
                    mode=MatchRun.Mode.FULL,
                    reason=reason[:200],
                    enqueued_at=timezone.now(),
                )
            return run, True
        except IntegrityError:  # a concurrent trigger queued it first: join that one
            continue
    raise RuntimeError("no queued full run could be found or created")


def _claim(*, run_id, task_id, trigger, mode, reason) -> MatchRun | None:
    """The run of this delivery: the queued one, or the one an earlier delivery started before
    its worker died, or a new one; None when the run is already over (a repeated message).
    Called under the matching lease, so a 'running' run found here has no live worker."""
    with transaction.atomic():
        if run_id is not None:
            run = MatchRun.objects.select_for_update(no_key=True).get(pk=run_id)
        elif task_id:
            # Inserted as running: a queued automatic full run may exist already, and only one
            # may be queued (match_run_one_queued_automatic_full_run).
            run, _ = MatchRun.objects.get_or_create(
                task_id=task_id,
                defaults={
                    "trigger": trigger,
                    "mode": mode,
                    "reason": reason[:200],
                    "status": MatchRun.Status.RUNNING,
                },
            )
        else:
            run = MatchRun.objects.create(
                trigger=trigger, mode=mode, reason=reason[:200], status=MatchRun.Status.RUNNING
            )
        if run.status not in (MatchRun.Status.QUEUED, MatchRun.Status.RUNNING):
            log.info("matching run %s is already %s: nothing to do", run.pk, run.status)
            return None
        now = timezone.now()
        if run.attempts >= settings.MATCHING_RUN_MAX_ATTEMPTS:
            run.status = MatchRun.Status.ABANDONED
            run.error = f"given up after {run.attempts} deliveries whose worker was lost"
            run.finished_at = now
            run.save()
            log.error("matching run %s abandoned: %s", run.pk, run.error)
            return None
        if task_id and run.task_id != task_id:
            run.task_id = task_id
        run.status = MatchRun.Status.RUNNING
        run.attempts += 1
        run.started_at = now
        run.lease_expires_at = now + timedelta(seconds=settings.MATCHING_RUN_LEASE_SECONDS)
        run.error = ""
        run.save()
    return run


@contextmanager
def _leased(run: MatchRun | None, holder: str) -> Iterator[MatchRun | None]:
    """Renew the matching lease and the run's lease from a thread while the block runs (its own
    connection), every MATCHING_LEASE_HEARTBEAT_SECONDS: so that no other run takes the lease
    over, and the sweep can tell a run whose worker died from a long one."""
    if run is None:
        yield run
        return
    seconds = settings.MATCHING_RUN_LEASE_SECONDS
    attempt = run.attempts
    renew_lease = lease_renewer(name=LEASE_NAME, holder=holder, seconds=seconds)

    def renew() -> None:
        renew_lease()
        MatchRun.objects.filter(pk=run.pk, status=MatchRun.Status.RUNNING, attempts=attempt).update(
            lease_expires_at=timezone.now() + timedelta(seconds=seconds)
        )

    every = settings.MATCHING_LEASE_HEARTBEAT_SECONDS
    keeper = Housekeeper([(f"leases of matching run {run.pk}", every, renew)])
    keeper.start()
    try:
        yield run
    finally:
        keeper.stop(timeout=10)


def _peak_rss_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection during a run: it makes hundreds of thousands of small
    objects (rows, tuples, dicts) that refcounting frees, and every full collection would
    walk them all again (a cost that grows with the square of the world)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def match_run_execute(
    *,
    trigger: str,
    mode: str = MatchRun.Mode.FULL,
    reason: str = "",
    run_id=None,
    task_id: str | None = None,
    pledge_ids=(),
    need_ids=(),
    wait: bool = True,
) -> MatchRun | None:
    """Run matching now. Raises MatchingBusy when another run holds the lease and not ``wait``;
    None when the run asked for is already over. An incremental run for new pledges takes no
    lock and never waits (``match_incremental_execute``)."""
    if mode == MatchRun.Mode.INCREMENTAL and pledge_ids and not need_ids and run_id is None:
        return match_incremental_execute(
            trigger=trigger, reason=reason, task_id=task_id, pledge_ids=pledge_ids
        )
    with (
        single_flight(wait=wait) as holder,
        _leased(
            _claim(run_id=run_id, task_id=task_id, trigger=trigger, mode=mode, reason=reason),
            holder,
        ) as run,
        _gc_paused(),
    ):
        if run is None:
            return None
        started = time.perf_counter()
        try:
            world = load_world()
            loaded, rss_loaded = time.perf_counter(), _peak_rss_mb()
            if run.mode == MatchRun.Mode.INCREMENTAL:
                solution = matching.insert_greedy(
                    world.pledges,
                    world.needs,
                    world.proposals,
                    new_pledges=[str(p) for p in pledge_ids],
                    new_needs=[str(n) for n in need_ids],
                    today=world.today,
                    min_amount=settings.MATCHING_MIN_UNITS,
                )
            else:
                solution = matching.solve(
                    world.pledges,
                    world.needs,
                    world.proposals,
                    today=world.today,
                    min_amount=settings.MATCHING_MIN_UNITS,
                )
            solved, rss_solved = time.perf_counter(), _peak_rss_mb()
            outcome = apply_solution(world=world, rows=list(solution.rows), run=run)
            written, rss_written = time.perf_counter(), _peak_rss_mb()
            _auto_commit(run, outcome.auto_commit)
        except Exception as exc:
            _record_failure(run, exc)
            raise
        run.status = MatchRun.Status.SUCCEEDED
        run.pool_currency = world.pool.currency
        run.pledges_seen, run.needs_seen = len(world.pledges), len(world.needs)
        run.proposals_before = len(world.current)
        for name, value in outcome.as_dict().items():
            setattr(run, name, value)
        # The run's figures describe what the database holds after the write; the solver's
        # own figures stay in the stats beside them.
        run.objective, run.funded_minor = outcome.objective, outcome.funded
        run.solver, run.solver_version = solution.solver, solution.version
        run.stats = {
            **{k: v for k, v in solution.stats.items() if isinstance(v, int | float | str)},
            **world.left_out,
            **outcome.stats(),
            "solver_objective": solution.objective,
            "solver_funded": solution.funded,
            "solver_rows": len(solution.rows),
            "admitted_by": admitted_by_counts(list(solution.rows)),
            "seconds_load": round(loaded - started, 4),
            "seconds_solve": round(solved - loaded, 4),
            "seconds_write": round(written - solved, 4),
            # the process's peak RSS so far, after each step (MB)
            "peak_rss_mb": {"load": rss_loaded, "solve": rss_solved, "write": rss_written},
        }
        _record_success(run)
        if outcome.skipped_busy:
            _follow_up(run, outcome.skipped_busy)
        return run


def _follow_up(run: MatchRun, busy: int) -> None:
    """Rows another transaction held were left as they were: queue one full run for them,
    deferred, so that the task sends it once this run has released the lock."""
    queued, created = full_run_request(reason=f"{busy} rows busy during run {run.pk}")
    if created:
        match_run_defer(run_id=queued.pk)


def match_incremental_execute(
    *, trigger: str, reason: str = "", task_id: str | None = None, pledge_ids=()
) -> MatchRun | None:
    """The incremental run for new pledges: reads only the needs they can reach, writes their
    proposals in short transactions beside any full run (``services.incremental``), and records
    a MatchRun whose figures are what it wrote. Safe to repeat: a pledge already placed has no
    room left. None when the run of this delivery is already over."""
    run = _claim(
        run_id=None, task_id=task_id, trigger=trigger, mode=MatchRun.Mode.INCREMENTAL, reason=reason
    )
    if run is None:
        return None
    try:
        placed = place_pledges(pledge_ids=pledge_ids, run=run)
        _auto_commit(run, placed.auto_commit)
    except Exception as exc:
        _record_failure(run, exc)
        raise
    run.status = MatchRun.Status.SUCCEEDED
    run.pool_currency = settings.MATCHING_POOL_CURRENCY
    run.pledges_seen, run.needs_seen = placed.pledges_seen, placed.needs_seen
    run.created = placed.created
    run.objective, run.funded_minor = placed.objective, placed.funded_minor
    run.solver, run.solver_version = "greedy-insert", matching.GREEDY_VERSION
    run.stats = {
        "pages": placed.pages,
        "attempts": placed.attempts,
        "needs_busy": placed.needs_busy,
        "pledges_busy": placed.pledges_busy,
        "admitted_by": admitted_by_counts(placed.rows),
        "seconds_load": round(placed.seconds_load, 4),
        "seconds_solve": round(placed.seconds_solve, 4),
        "seconds_write": round(placed.seconds_write, 4),
    }
    _record_success(run)
    return run


def _auto_commit(run: MatchRun, allocation_ids) -> None:
    """Commit the new proposals of auto-commit pledges, each in its own transaction."""
    for allocation_id in allocation_ids:
        try:
            allocation_commit(allocation_id=allocation_id)
            run.auto_committed += 1
        except DomainError as exc:  # e.g. the need closed in between: stays proposed
            log.info("auto-commit of %s refused: %s", allocation_id, exc)


def _record_failure(run: MatchRun, exc: Exception) -> None:
    run.status = MatchRun.Status.FAILED
    # Shown to verifiers: PostgreSQL's DETAIL line (the row's values) is left out.
    run.error = redact(f"{type(exc).__name__}: {exc}")[:2000]
    run.finished_at = timezone.now()
    run.save()
    log.exception("matching run %s failed", run.pk)


def _record_success(run: MatchRun) -> None:
    """Save a run's figures (filled by the caller) with its audit event, in one transaction."""
    run.finished_at = timezone.now()
    with transaction.atomic():
        run.save()
        audit_record(
            action="matching.run", obj=run, after={k: getattr(run, k) for k in AUDITED_RUN_FIELDS}
        )


def match_run_defer(*, run_id) -> bool:
    """A delivery found the lock held: leave its queued run without a message (``enqueued_at``
    empty) for the run holding the lock to send when it finishes. False when the run is not
    queued (it is over, or running)."""
    return bool(
        MatchRun.objects.filter(pk=run_id, status=MatchRun.Status.QUEUED).update(enqueued_at=None)
    )


def match_runs_take_deferred() -> list[MatchRun]:
    """The queued runs that wait for a message (their delivery found the lock held), marked as
    sent: the caller sends them. Called by a run after it released the lock."""
    with transaction.atomic():
        runs = list(
            MatchRun.objects.select_for_update(no_key=True, skip_locked=True)
            .filter(status=MatchRun.Status.QUEUED, enqueued_at__isnull=True)
            .order_by("created_at")
        )
        MatchRun.objects.filter(pk__in=[r.pk for r in runs]).update(enqueued_at=timezone.now())
    return runs


def _requeue_lost(run: MatchRun, now) -> bool:
    """A run whose worker died goes back to the queue (False: an incremental run, or a full run
    that a queued full run already covers, is abandoned instead)."""
    if run.mode == MatchRun.Mode.FULL:
        try:
            with transaction.atomic():
                run.status, run.enqueued_at = MatchRun.Status.QUEUED, now
                run.lease_expires_at = None
                run.save(update_fields=["status", "enqueued_at", "lease_expires_at"])
            log.warning("matching run %s lost its worker (lease expired): retrying", run.pk)
            return True
        except IntegrityError:  # the one queued automatic full run exists: it covers this one
            pass
    run.status, run.finished_at = MatchRun.Status.ABANDONED, now
    run.error = "worker lost; the next full run covers it"
    run.save(update_fields=["status", "finished_at", "error"])
    log.warning("matching run %s lost its worker (lease expired): abandoned", run.pk)
    return False


def full_run_started_since(since) -> bool:
    return MatchRun.objects.filter(mode=MatchRun.Mode.FULL, created_at__gte=since).exists()


def match_runs_recover() -> tuple[list[MatchRun], bool]:
    """Runs to send again: running ones whose lease ran out (their worker died) go back to the
    queue, and queued ones whose message was lost are sent again (the caller sends them; the
    second item says a full run should be scheduled for the runs abandoned). Safe to call from
    many workers at once: rows are taken with SKIP LOCKED and marked as sent."""
    now = timezone.now()
    lease = timedelta(seconds=settings.MATCHING_RUN_LEASE_SECONDS)
    # A message is due at most the debounce after it was sent; a lease later, it is lost.
    grace = lease + timedelta(seconds=settings.MATCHING_DEBOUNCE_SECONDS)
    # Runs started before leases existed: taken for dead past the task time limit.
    stale = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    requeued: list[MatchRun] = []
    abandoned = False
    with transaction.atomic():
        dead = MatchRun.objects.select_for_update(no_key=True, skip_locked=True).filter(
            Q(lease_expires_at__lt=now)
            | Q(lease_expires_at__isnull=True, started_at__lt=now - stale),
            status=MatchRun.Status.RUNNING,
        )
        for run in dead.order_by("created_at"):
            if _requeue_lost(run, now):
                requeued.append(run)
            else:
                abandoned = True
        alive = MatchRun.objects.filter(status=MatchRun.Status.RUNNING, lease_expires_at__gte=now)
        waiting = Q(enqueued_at__lt=now - grace)
        if not alive.exists():  # no run will finish and send the deferred ones
            waiting |= Q(enqueued_at__isnull=True)
        lost = list(
            MatchRun.objects.select_for_update(no_key=True, skip_locked=True)
            .filter(waiting, status=MatchRun.Status.QUEUED)
            .order_by("created_at")
        )
        for run in lost:
            log.warning("matching run %s is queued without a message: sending it", run.pk)
        MatchRun.objects.filter(pk__in=[r.pk for r in lost]).update(enqueued_at=now)
    return requeued + lost, abandoned
