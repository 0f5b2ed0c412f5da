"""Row locks never block a foreign-key check, so an insert that names a locked row never
deadlocks with its locker over the audit chain's lock.

A foreign-key check runs at COMMIT (the constraints are deferred) and takes FOR KEY SHARE on the
row it names; the audit chain's lock is held from a change's audit to its COMMIT. Had our locks
been plain FOR UPDATE, a pledge earmarking a need would wait at COMMIT for the transaction that
locked the need, while that one waited for the chain (bench/chaos.py met it: a 500)."""

import threading
import time
from decimal import Decimal

import psycopg2
import pytest
from django.db import connection, transaction

from apps.audit.models import AuditEvent
from apps.audit.services import audit_record
from apps.matching.locks import lock_allocations, lock_needs, lock_pledges
from apps.pledges.models import Pledge
from apps.pledges.services import pledge_create
from apps.reference.models import Currency
from tests.factories import NeedFactory, PledgeFactory, UserFactory, propose


def _key_share_nowait(table: str, pk) -> list:
    """What a foreign-key check does, from another connection (so the rows must be committed),
    without waiting."""
    other = psycopg2.connect(**connection.get_connection_params())
    try:
        with other.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {table} WHERE id = %s FOR KEY SHARE NOWAIT", [str(pk)])
            return cursor.fetchall()
    finally:
        other.close()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize(
    ("lock", "table", "row"),
    [
        (lock_pledges, "pledges_pledge", lambda a: a.pledge),
        (lock_needs, "needs_need", lambda a: a.need),
        (lock_allocations, "matching_allocation", lambda a: a),
    ],
    ids=["pledges", "needs", "allocations"],
)
def test_a_locked_row_can_still_be_named_by_another_transactions_insert(lock, table, row):
    allocation = propose(PledgeFactory(amount=Decimal(500)), NeedFactory(amount=Decimal(800)), 300)
    chosen = row(allocation)
    with transaction.atomic():
        assert list(lock([chosen.pk])) == [chosen.pk]
        assert len(_key_share_nowait(table, chosen.pk)) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_pledge_earmarking_a_need_commits_while_the_needs_locker_waits_for_the_audit_chain():
    need = NeedFactory(status="open")
    donor = UserFactory()
    locked, audited = threading.Event(), threading.Event()
    errors: list[Exception] = []

    def locker() -> None:
        try:
            with transaction.atomic():
                lock_needs([need.pk])
                locked.set()
                assert audited.wait(10)
                # Waits for the chain's lock, which the pledge's transaction holds.
                audit_record(action="need.touched", obj=need)
        except Exception as error:  # reported below, not lost in the thread
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=locker)
    thread.start()
    assert locked.wait(10)
    with transaction.atomic():
        pledge = pledge_create(
            donor=donor,
            amount=Decimal("250.00"),
            currency=Currency.objects.get(code="USD"),
            earmark_need=need,
        )
        audited.set()
        time.sleep(0.5)  # the locker is now waiting for the chain; COMMIT checks the earmark
    thread.join(20)

    assert not thread.is_alive()
    assert errors == []
    assert Pledge.objects.filter(pk=pledge.pk, earmark_need=need).exists()
    assert AuditEvent.objects.filter(action="need.touched", object_id=str(need.pk)).count() == 1
