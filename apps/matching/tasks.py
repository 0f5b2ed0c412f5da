"""Thin tasks: take ids, call a service. Every one is safe to deliver twice: a run writes only
the difference between its solution and the proposals it finds under its row locks."""

import contextlib
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from apps.matching.services.allocations import allocation_release_overdue
from apps.matching.services.runs import MatchingBusy, match_run_execute, match_runs_abandon_stale

FULL_RUN_PENDING = "matching:full-run-pending"


@shared_task(name="apps.matching.tasks.release_overdue_proposals", acks_late=True)
def release_overdue_proposals() -> int:
    released = allocation_release_overdue()
    if released and settings.MATCHING_TRIGGER_ON_CHANGE:
        schedule_full_run(reason=f"{released} overdue proposals released")
    return released


@shared_task(
    bind=True,
    name="apps.matching.tasks.run_matching",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
)
def run_matching(
    self, *, trigger="event", mode="full", reason="", run_id=None, pledge_ids=(), need_ids=()
) -> str | None:
    if mode == "full":
        # From here on, a new change schedules a new run: this one may have read too early.
        _cache_delete(FULL_RUN_PENDING)
    try:
        run = match_run_execute(
            trigger=trigger,
            mode=mode,
            reason=reason,
            run_id=run_id,
            task_id=None if self.request.is_eager else self.request.id,
            pledge_ids=pledge_ids,
            need_ids=need_ids,
            wait=bool(self.request.is_eager),
        )
    except MatchingBusy:
        if mode != "full" and run_id is None:
            return None  # a full run is scheduled beside every incremental one
        raise self.retry(countdown=settings.MATCHING_DEBOUNCE_SECONDS) from None
    return str(run.pk)


@shared_task(name="apps.matching.tasks.sweep_matching", acks_late=True)
def sweep_matching() -> None:
    """The periodic safety net: catch whatever a lost message missed."""
    match_runs_abandon_stale(older_than=timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT))
    run_matching.delay(trigger="periodic", mode="full", reason="periodic sweep")


def schedule_full_run(*, reason: str) -> None:
    """A debounced full run: changes within MATCHING_DEBOUNCE_SECONDS share one run."""
    if _cache_add(FULL_RUN_PENDING, settings.MATCHING_DEBOUNCE_SECONDS * 20):
        run_matching.apply_async(
            kwargs={"trigger": "event", "mode": "full", "reason": reason[:200]},
            countdown=settings.MATCHING_DEBOUNCE_SECONDS,
        )


def _cache_add(key: str, timeout: float) -> bool:
    try:
        return cache.add(key, 1, timeout=timeout)
    except Exception:  # the cache is down: schedule anyway (runs are single-flight)
        return True


def _cache_delete(key: str) -> None:
    with contextlib.suppress(Exception):  # the cache is down: the pending mark expires
        cache.delete(key)
