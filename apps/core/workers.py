"""What a Celery worker does beside its tasks, from a thread of its main process (so it goes on
while a long task runs): write its heartbeat, read by /healthz, and run the periodic chores it
is given (config/celery_app.py wires them on ``worker_ready``)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence

from django.db import close_old_connections, connection
from django.utils import timezone

from apps.core.models import WorkerHeartbeat

log = logging.getLogger(__name__)


def heartbeat_record(*, hostname: str, queues: Sequence[str], started_at) -> None:
    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname,
        defaults={
            "queues": sorted(queues),
            "pid": os.getpid(),
            "started_at": started_at,
            "last_seen": timezone.now(),
        },
    )


def heartbeat_remove(*, hostname: str) -> None:
    WorkerHeartbeat.objects.filter(hostname=hostname).delete()


class Housekeeper(threading.Thread):
    """Runs each chore at once, then every ``interval`` seconds, until stopped. A chore that
    fails is logged and tried again at its next turn."""

    def __init__(self, chores: Sequence[tuple[str, float, Callable[[], object]]]) -> None:
        super().__init__(name="aidmatch-housekeeper", daemon=True)
        self.chores = list(chores)
        self.stopped = threading.Event()

    def run(self) -> None:
        due = {name: 0.0 for name, _, _ in self.chores}
        try:
            while not self.stopped.is_set():
                now = time.monotonic()
                for name, interval, chore in self.chores:
                    if now < due[name]:
                        continue
                    due[name] = now + interval
                    close_old_connections()
                    try:
                        chore()
                    except Exception:
                        log.warning("worker chore %s failed", name, exc_info=True)
                        connection.close()  # reconnect at the next turn
                self.stopped.wait(max(0.0, min(due.values()) - time.monotonic()))
        finally:
            connection.close()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopped.set()
        self.join(timeout)
