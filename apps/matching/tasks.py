"""Thin tasks: take ids, call a service. Every one is safe to deliver twice: a run writes only
the difference between its solution and the proposals it finds under its row locks.

Full runs are coalesced in PostgreSQL (``full_run_request``), not in the cache, so the debounce
holds with Redis down too: at most one full run is queued and one runs, whatever the number of
triggers. A delivery that finds the matching lock held does not retry: it defers its run, and the
run holding the lock sends the deferred runs when it finishes. ``recover_matching_runs`` (beat's
sweep, and every worker at startup and every MATCHING_SWEEP_SECONDS) sends again the runs whose
worker died or whose message was lost.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from apps.matching.models import MatchRun
from apps.matching.services.allocations import allocation_release_overdue
from apps.matching.services.runs import (
    MatchingBusy,
    full_run_request,
    full_run_started_since,
    match_run_defer,
    match_run_execute,
    match_runs_recover,
    match_runs_take_deferred,
)

log = logging.getLogger(__name__)


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
)
def run_matching(
    self,
    *,
    trigger="event",
    mode="full",
    reason="",
    run_id=None,
    pledge_ids=(),
    need_ids=(),
    then_full=False,
) -> str | None:
    """A run. ``then_full``: the trigger sent only this incremental run, and the debounced
    full run that improves it is scheduled here, after the new pledges' proposals are written
    (so the request that triggered it publishes one message and runs no SQL for it)."""
    if mode == MatchRun.Mode.INCREMENTAL and pledge_ids and not need_ids and run_id is None:
        # Lock-free (services.incremental): it never finds the matching lock held.
        try:
            run = match_run_execute(
                trigger=trigger,
                mode=mode,
                reason=reason,
                task_id=None if self.request.is_eager else self.request.id,
                pledge_ids=pledge_ids,
            )
        finally:
            if then_full:
                schedule_full_run(reason=reason or "new pledge")
        return None if run is None else str(run.pk)

    def execute():
        """The run, under the lock; then the runs that waited for it are sent."""
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
            raise
        except BaseException:
            _send_deferred_after(self)
            raise
        _send_deferred_after(self)
        return run

    try:
        run = execute()
    except MatchingBusy:
        if run_id is None:
            if mode == "full":  # a message without a run (sent before runs were queued)
                schedule_full_run(reason=reason or "full run requested while busy")
            return None  # an incremental run: a full run is scheduled beside every one
        if not match_run_defer(run_id=run_id):
            return None  # taken by another delivery, or over
        try:  # the run holding the lock may have finished before the deferral was written
            run = execute()
        except MatchingBusy:
            log.info("matching run %s waits for the run holding the lock", run_id)
            return None
    return None if run is None else str(run.pk)


def _send_deferred_after(task) -> None:
    if not task.request.is_eager:  # in-process, runs wait for the lock instead
        send_deferred_runs()


@shared_task(name="apps.matching.tasks.sweep_matching", acks_late=True)
def sweep_matching() -> None:
    """The periodic safety net (every MATCHING_SWEEP_SECONDS): retry runs whose worker died,
    send queued runs whose message was lost, and start a full run when none was started for
    MATCHING_PERIODIC_RUN_MINUTES."""
    recover_matching_runs()
    since = timezone.now() - timedelta(minutes=settings.MATCHING_PERIODIC_RUN_MINUTES)
    if not full_run_started_since(since):
        schedule_full_run(reason="periodic sweep", trigger=MatchRun.Trigger.PERIODIC)


def schedule_full_run(*, reason: str, trigger: str = MatchRun.Trigger.EVENT) -> None:
    """A coalesced full run: the triggers of MATCHING_DEBOUNCE_SECONDS share one run, and the
    triggers during a run share one follow-up."""
    run, created = full_run_request(trigger=trigger, reason=reason)
    if created:
        send_run(run, countdown=settings.MATCHING_DEBOUNCE_SECONDS)


def send_run(run: MatchRun, *, countdown: float = 0) -> None:
    """Send the message of a queued run. With the broker down the run stays queued, and the
    sweep sends it once the broker is back."""
    try:
        run_matching.apply_async(
            kwargs={"trigger": run.trigger, "mode": run.mode, "run_id": str(run.pk)},
            countdown=max(0.0, countdown),
        )
    except Exception:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise  # in-process: the run itself failed, and says why
        log.warning("matching run %s stays queued: the broker is unreachable", run.pk)


def send_deferred_runs() -> None:
    """After a run released the lock: send the runs whose delivery found it held."""
    now = timezone.now()
    debounce = timedelta(seconds=settings.MATCHING_DEBOUNCE_SECONDS)
    for run in match_runs_take_deferred():
        send_run(run, countdown=(run.created_at + debounce - now).total_seconds())


def recover_matching_runs() -> int:
    """Send again what a dead worker or a lost message left behind; how many runs were sent."""
    runs, abandoned = match_runs_recover()
    for run in runs:
        send_run(run)
    if abandoned:
        schedule_full_run(reason="a run whose worker died", trigger=MatchRun.Trigger.PERIODIC)
    return len(runs)
