"""Leases (apps/core/leases.py) on real PostgreSQL: a named lock in a row, held by one holder at
a time until it expires, renewed by its holder, given back, and taken over once expired."""

import threading
from datetime import timedelta

import pytest
from django.db import connections

from apps.core.leases import (
    LeaseBusy,
    lease_acquire,
    lease_held,
    lease_release,
    lease_renew,
)
from apps.core.models import Lease
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.django_db


def test_two_holders_cannot_hold_a_lease_at_once():
    assert lease_acquire(name="job", holder="a", seconds=60)
    assert not lease_acquire(name="job", holder="b", seconds=60)
    assert not lease_acquire(name="job", holder="b", seconds=60, wait=0.3)  # waits, in vain
    assert lease_acquire(name="job", holder="a", seconds=60)  # its holder may take it again
    assert lease_acquire(name="other job", holder="b", seconds=60)  # another name is free
    assert Lease.objects.get(name="job").holder == "a"


def test_an_expired_lease_is_taken_over_and_its_old_holder_knows_it_lost_it(clock):
    start = clock("2026-12-01T10:00:00+00:00")
    assert lease_acquire(name="job", holder="a", seconds=60)
    clock("2026-12-01T10:00:59+00:00")
    assert not lease_acquire(name="job", holder="b", seconds=60)
    clock("2026-12-01T10:01:01+00:00")  # a died: nothing renewed its lease
    assert lease_acquire(name="job", holder="b", seconds=60)

    lease = Lease.objects.get(name="job")
    assert lease.holder == "b" and lease.expires_at == start + timedelta(seconds=121)
    assert not lease_renew(name="job", holder="a", seconds=60)
    assert not lease_release(name="job", holder="a")  # a cannot give back b's lease
    assert Lease.objects.get(name="job").holder == "b"


def test_a_renewed_lease_is_not_taken_over(clock):
    clock("2026-12-01T10:00:00+00:00")
    assert lease_acquire(name="job", holder="a", seconds=60)
    clock("2026-12-01T10:00:40+00:00")
    assert lease_renew(name="job", holder="a", seconds=60)  # now until 10:01:40
    clock("2026-12-01T10:01:20+00:00")
    assert not lease_acquire(name="job", holder="b", seconds=60)
    clock("2026-12-01T10:01:41+00:00")
    assert lease_acquire(name="job", holder="b", seconds=60)


def test_a_released_lease_is_free_at_once():
    assert lease_acquire(name="job", holder="a", seconds=60)
    assert lease_release(name="job", holder="a")
    assert not Lease.objects.filter(name="job").exists()
    assert lease_acquire(name="job", holder="b", seconds=60)


@pytest.mark.django_db(transaction=True)
def test_of_many_concurrent_acquirers_exactly_one_gets_the_lease():
    """Each in its own connection, all at once: the insert-or-take-over is one statement."""
    start = threading.Barrier(8)
    won: list[str] = []

    def acquire(i: int) -> None:
        try:
            start.wait()
            if lease_acquire(name="job", holder=f"holder {i}", seconds=60):
                won.append(f"holder {i}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=acquire, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    assert Lease.objects.get(name="job").holder == won[0]


@pytest.mark.django_db(transaction=True)
def test_a_held_lease_is_renewed_by_its_heartbeat_and_released_at_the_end():
    with lease_held("job", seconds=2, heartbeat=0.1) as holder:
        first = Lease.objects.get(name="job")
        assert first.holder == holder
        with pytest.raises(LeaseBusy), lease_held("job", seconds=2):
            pass
        # the heartbeat (another thread, its own connection) pushes the expiry on
        wait_for(lambda: Lease.objects.get(name="job").expires_at > first.expires_at)
    assert not Lease.objects.filter(name="job").exists()
