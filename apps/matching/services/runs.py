"""A matching run: one at a time (a PostgreSQL advisory lock), recorded as a MatchRun.

Read the world, solve (exactly, or the greedy insert for a new pledge or need), write the
difference under row locks, then let auto-commit pledges commit what they were given.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.utils import timezone

from aidmatch import matching
from aidmatch.errors import DomainError
from apps.audit.services import audit_record
from apps.matching.models import MatchRun
from apps.matching.services.allocations import allocation_commit
from apps.matching.services.apply import admitted_by_counts, apply_solution
from apps.matching.services.snapshot import load_world

log = logging.getLogger(__name__)

# One key for the whole pool: "matching" as a signed 64-bit integer.
LOCK_KEY = int.from_bytes(b"aidmatch", "big") & 0x7FFF_FFFF_FFFF_FFFF
_local_lock = threading.Lock()  # SQLite (the embedded default) has no advisory locks


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
    """Another run holds the matching lock."""


@contextmanager
def single_flight(*, wait: bool) -> Iterator[None]:
    """Hold the matching lock for the block; MatchingBusy when ``wait`` is False and it is held.

    A session-level advisory lock: it outlives the run's transactions and is released by
    PostgreSQL when the connection closes, so a worker killed mid-run never leaves it held.
    """
    if connection.vendor != "postgresql":
        if not _local_lock.acquire(blocking=wait):
            raise MatchingBusy
        try:
            yield
        finally:
            _local_lock.release()
        return
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        else:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
            if not cursor.fetchone()[0]:
                raise MatchingBusy
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def lock_is_free() -> bool:
    try:
        with single_flight(wait=False):
            return True
    except MatchingBusy:
        return False


def match_run_request(*, trigger: str, mode: str = MatchRun.Mode.FULL, reason: str = "", by=None):
    """A queued run (the manual trigger through the API); the task picks it up by id."""
    return MatchRun.objects.create(trigger=trigger, mode=mode, reason=reason[:200], requested_by=by)


def _claim(*, run_id, task_id, trigger, mode, reason) -> MatchRun:
    """The run of this delivery: the queued one, or the one an earlier delivery of the same
    task started before its worker died, or a new one."""
    if run_id is not None:
        run = MatchRun.objects.get(pk=run_id)
    elif task_id:
        run, _ = MatchRun.objects.get_or_create(
            task_id=task_id, defaults={"trigger": trigger, "mode": mode, "reason": reason[:200]}
        )
    else:
        run = MatchRun.objects.create(trigger=trigger, mode=mode, reason=reason[:200])
    if task_id and run.task_id != task_id:
        run.task_id = task_id
    run.status = MatchRun.Status.RUNNING
    run.attempts += 1
    run.started_at = timezone.now()
    run.error = ""
    run.save()
    return run


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
) -> MatchRun:
    """Run matching now. Raises MatchingBusy when another run holds the lock and not ``wait``."""
    with single_flight(wait=wait):
        run = _claim(run_id=run_id, task_id=task_id, trigger=trigger, mode=mode, reason=reason)
        started = time.perf_counter()
        try:
            world = load_world()
            loaded = time.perf_counter()
            if run.mode == MatchRun.Mode.INCREMENTAL:
                solution = matching.insert_greedy(
                    world.pledges,
                    world.needs,
                    world.proposals,
                    new_pledges=[str(p) for p in pledge_ids],
                    new_needs=[str(n) for n in need_ids],
                    today=world.today,
                )
            else:
                solution = matching.solve(
                    world.pledges, world.needs, world.proposals, today=world.today
                )
            solved = time.perf_counter()
            outcome = apply_solution(world=world, rows=list(solution.rows), run=run)
            written = time.perf_counter()
            for allocation_id in outcome.auto_commit:
                try:
                    allocation_commit(allocation_id=allocation_id)
                    run.auto_committed += 1
                except DomainError as exc:  # e.g. the need closed in between: stays proposed
                    log.info("auto-commit of %s refused: %s", allocation_id, exc)
        except Exception as exc:
            run.status = MatchRun.Status.FAILED
            run.error = f"{type(exc).__name__}: {exc}"[:2000]
            run.finished_at = timezone.now()
            run.save()
            log.exception("matching run %s failed", run.pk)
            raise
        run.status = MatchRun.Status.SUCCEEDED
        run.pool_currency = world.pool.currency
        run.pledges_seen, run.needs_seen = len(world.pledges), len(world.needs)
        run.proposals_before = len(world.current)
        for name, value in outcome.as_dict().items():
            setattr(run, name, value)
        run.objective, run.funded_minor = solution.objective, solution.funded
        run.solver, run.solver_version = solution.solver, solution.version
        run.stats = {
            **{k: v for k, v in solution.stats.items() if isinstance(v, int | float | str)},
            **world.left_out,
            "admitted_by": admitted_by_counts(list(solution.rows)),
            "seconds_load": round(loaded - started, 4),
            "seconds_solve": round(solved - loaded, 4),
            "seconds_write": round(written - solved, 4),
        }
        run.finished_at = timezone.now()
        with transaction.atomic():
            run.save()
            audit_record(
                action="matching.run",
                obj=run,
                after={k: getattr(run, k) for k in AUDITED_RUN_FIELDS},
            )
        return run


@transaction.atomic
def match_runs_abandon_stale(*, older_than) -> int:
    """Runs left 'running' by a worker that died and was never redelivered."""
    if not lock_is_free():
        return 0
    return MatchRun.objects.filter(
        status__in=[MatchRun.Status.RUNNING], started_at__lt=timezone.now() - older_than
    ).update(status=MatchRun.Status.ABANDONED, finished_at=timezone.now())
