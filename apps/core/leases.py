"""Leases: named locks kept in a row (``Lease``) for work that one process at a time may do over
many transactions (a matching run), with no session state, so that they hold behind a
transaction-pooling PgBouncer as on SQLite.

A holder takes a lease with one statement (an insert that, when the name is taken, overwrites
the row only if it has expired), keeps it by renewing it more often than it expires (a
heartbeat), and gives it back by deleting its row. A holder that dies (SIGKILL, a lost machine)
gives nothing back: its lease is taken over once it has expired. Times are Django's clock
(``timezone.now()``), like the matching runs' leases: hosts sharing a database keep their clocks
in step (NTP), far within a lease's seconds.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from apps.core.models import Lease
from apps.core.workers import Housekeeper

log = logging.getLogger(__name__)


class LeaseBusy(Exception):
    """Another holder has the lease (and it has not expired)."""


def lease_holder() -> str:
    """A name for one acquisition: which host and process, and a nonce (two acquisitions of
    one process never pass for each other)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _try_acquire(*, name: str, holder: str, seconds: float) -> bool:
    now = timezone.now()
    table = connection.ops.quote_name(Lease._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (name, holder, acquired_at, expires_at) "  # noqa: S608
            "VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, "
            "acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at "
            f"WHERE {table}.expires_at < %s OR {table}.holder = EXCLUDED.holder "
            "RETURNING holder",
            [name, holder, adapt(now), adapt(now + timedelta(seconds=seconds)), adapt(now)],
        )
        return cursor.fetchone() is not None


def lease_acquire(*, name: str, holder: str, seconds: float, wait: float = 0.0) -> bool:
    """Take the lease ``name`` for ``seconds``: free, expired, or already this holder's. When
    another holds it, try again (every 50 ms, then up to every second) for at most ``wait``
    seconds; False if it is still held then."""
    deadline = time.monotonic() + wait
    pause = 0.05
    while not _try_acquire(name=name, holder=holder, seconds=seconds):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(pause, left))
        pause = min(pause * 2, 1.0)
    return True


def lease_renew(*, name: str, holder: str, seconds: float) -> bool:
    """Extend the lease to ``seconds`` from now; False when this holder no longer has it
    (it expired and another took it over)."""
    expires_at = timezone.now() + timedelta(seconds=seconds)
    return bool(Lease.objects.filter(name=name, holder=holder).update(expires_at=expires_at))


def lease_release(*, name: str, holder: str) -> bool:
    """Give the lease back; False when this holder no longer had it."""
    deleted, _ = Lease.objects.filter(name=name, holder=holder).delete()
    return bool(deleted)


def lease_renewer(*, name: str, holder: str, seconds: float) -> Callable[[], None]:
    """A heartbeat chore (apps.core.workers.Housekeeper) that renews the lease, and says so
    in the log when it was lost."""

    def renew() -> None:
        if not lease_renew(name=name, holder=holder, seconds=seconds):
            log.error("lease %s of %s was lost: it expired and was taken over", name, holder)

    return renew


@contextmanager
def lease_held(
    name: str, *, seconds: float, wait: float = 0.0, heartbeat: float | None = None
) -> Iterator[str]:
    """Hold the lease ``name`` for the block (LeaseBusy when it is still held by another after
    ``wait`` seconds); with ``heartbeat``, a thread renews it every ``heartbeat`` seconds.
    Yields the holder's name."""
    holder = lease_holder()
    if not lease_acquire(name=name, holder=holder, seconds=seconds, wait=wait):
        raise LeaseBusy(name)
    keeper = None
    if heartbeat:
        renew = lease_renewer(name=name, holder=holder, seconds=seconds)
        keeper = Housekeeper([(f"lease {name}", heartbeat, renew)])
        keeper.start()
    try:
        yield holder
    finally:
        if keeper is not None:
            keeper.stop(timeout=10)
        lease_release(name=name, holder=holder)
