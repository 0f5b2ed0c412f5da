"""What services call when a change may open new matches: enqueue after the commit.

A new pledge or need gets a greedy proposal at once (the incremental path: for a new pledge
milliseconds, lock-free beside any full run), and a debounced full run then improves it. For a
new pledge the request publishes one message and runs no SQL for matching: the incremental run
schedules the full run once it has written (with the broker down, the full run is recorded in
PostgreSQL instead and the sweep sends it). With tasks in-process (the embedded default), the full
run alone runs, in the request. With the broker down, the change still commits and answers;
the failed send is logged and the periodic sweep catches up.
"""

import logging

from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)


def request_matching(*, reason: str, pledge_ids=(), need_ids=()) -> None:
    if not settings.MATCHING_TRIGGER_ON_CHANGE:
        return
    pledge_ids = [str(p) for p in pledge_ids]
    need_ids = [str(n) for n in need_ids]

    def enqueue() -> None:
        from apps.matching.tasks import run_matching, schedule_full_run

        try:
            if pledge_ids and not need_ids and not settings.CELERY_TASK_ALWAYS_EAGER:
                # One message on the request path: the incremental run schedules the full run
                # after it has written the new pledges' proposals.
                try:
                    run_matching.delay(
                        trigger="event",
                        mode="incremental",
                        reason=reason[:200],
                        pledge_ids=pledge_ids,
                        then_full=True,
                    )
                    return
                except OperationalError:
                    # Record the full run in PostgreSQL (the sweep sends it) before saying so.
                    schedule_full_run(reason=reason)
                    raise
            # The full run first: it is recorded in PostgreSQL and survives a broker outage
            # (the sweep sends it), so a failed incremental send below loses nothing.
            schedule_full_run(reason=reason)
            if (pledge_ids or need_ids) and not settings.CELERY_TASK_ALWAYS_EAGER:
                run_matching.delay(
                    trigger="event",
                    mode="incremental",
                    reason=reason[:200],
                    pledge_ids=pledge_ids,
                    need_ids=need_ids,
                )
        except OperationalError as exc:
            # The broker is unreachable. The change is committed: never answer it with an
            # error; the periodic sweep runs matching once the broker is back.
            log.warning(
                "matching after '%s' not enqueued (broker unreachable: %s); the periodic sweep "
                "will run it",
                reason,
                exc,
            )
        except Exception:
            # The change is committed: never answer it with an error. The failed run is
            # recorded (MatchRun.error) and the periodic sweep runs matching again.
            log.exception("matching after '%s' failed; the periodic sweep will retry", reason)

    transaction.on_commit(enqueue)
