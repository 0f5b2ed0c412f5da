"""Row locks in one fixed order: pledges, then needs, then allocations, each by primary key.

Every write that moves money takes its locks through these helpers, so two writers never wait
on each other in opposite orders (no deadlocks), and a check made under the locks still holds
when the write lands.
"""

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction

from aidmatch.lifecycle import AllocationStatus
from apps.matching.models import Allocation
from apps.matching.services.bulk import ids_in
from apps.needs.models import Need
from apps.pledges.models import Pledge

MAX_ATTEMPTS = 5


def lock_pledges(ids: Iterable) -> dict:
    ids = sorted(set(ids), key=str)
    if not ids:
        return {}
    return {p.pk: p for p in Pledge.objects.filter(pk__in=ids).order_by("pk").select_for_update()}


def lock_needs(ids: Iterable) -> dict:
    ids = sorted(set(ids), key=str)
    if not ids:
        return {}
    return {n.pk: n for n in Need.objects.filter(pk__in=ids).order_by("pk").select_for_update()}


def lock_allocations(ids: Iterable) -> dict:
    ids = sorted(set(ids), key=str)
    if not ids:
        return {}
    return {
        a.pk: a for a in Allocation.objects.filter(pk__in=ids).order_by("pk").select_for_update()
    }


def lock_need_with_pledges(need_id, statuses=(AllocationStatus.PROPOSED,)):
    """Lock a need and the pledges of its allocations in ``statuses``, in the global order.
    Returns (need, pledges by id, allocations by id). Call inside a transaction."""
    needs, pledges, allocations = lock_needs_with_pledges([need_id], statuses)
    if need_id not in needs:
        raise Need.DoesNotExist(need_id)
    return needs[need_id], pledges, allocations


def lock_needs_with_pledges(need_ids, statuses=(AllocationStatus.PROPOSED,)):
    """Lock needs and the pledges of their allocations in ``statuses``, in the global order.

    The pledges must be locked before the needs, but which pledges are involved is only known
    by reading the needs' allocations; so read, lock, and re-read until the set is stable.
    Returns (needs by id, pledges by id, allocations by id). Call inside a transaction.
    """
    assert transaction.get_connection().in_atomic_block
    need_ids = list(need_ids)
    allocations = Allocation.objects.filter(need_id__in=need_ids, status__in=statuses)
    for _ in range(MAX_ATTEMPTS):
        try:
            # A savepoint per attempt: rolling it back releases the row locks it took.
            with transaction.atomic():
                pledges = lock_pledges(allocations.values_list("pledge_id", flat=True))
                needs = lock_needs(need_ids)
                locked = lock_allocations(allocations.values_list("pk", flat=True))
                if not {a.pledge_id for a in locked.values()} <= set(pledges):
                    raise _Retry
                return needs, pledges, locked
        except _Retry:
            continue
    raise RuntimeError(f"Could not lock a stable set of pledges for needs {need_ids[:5]}")


class _Retry(Exception):
    pass


def lock_pledge_with_needs(pledge_id, statuses=(AllocationStatus.PROPOSED,)):
    """Lock a pledge, the needs of its allocations in ``statuses``, and those allocations."""
    pledges = lock_pledges([pledge_id])
    if not pledges:
        raise Pledge.DoesNotExist(pledge_id)
    allocations = Allocation.objects.filter(pledge_id=pledge_id, status__in=statuses)
    need_ids = set(allocations.values_list("need_id", flat=True))
    needs = lock_needs(need_ids)
    locked = lock_allocations(allocations.values_list("pk", flat=True))
    return pledges[pledge_id], needs, locked


# Bulk locks for a matching run: one statement per table, rows another transaction holds are
# skipped (SKIP LOCKED) and left to the next run, so a run never waits on request traffic.


@dataclass(slots=True)
class LockedPledge:
    id: str
    status: str
    amount: Decimal
    committed_amount: Decimal
    proposed_amount: Decimal
    disbursed_amount: Decimal
    expires_at: datetime | None
    auto_commit: bool
    commit_window: timedelta


@dataclass(slots=True)
class LockedNeed:
    id: str
    status: str
    amount: Decimal
    committed_amount: Decimal
    proposed_amount: Decimal
    deadline: date
    organization_id: str
    organization_status: str
    time_zone: str


def _skip_locked(queryset, ids, fields, **of) -> list[tuple]:
    ids = set(ids)
    if not ids:
        return []
    return list(
        queryset.filter(**ids_in("pk", ids))
        .order_by("pk")
        .select_for_update(skip_locked=True, **of)
        .values_list(*fields)
    )


def lock_pledge_rows(ids: Iterable[str]) -> dict[str, LockedPledge]:
    """Lock pledges in one statement, skipping those another transaction holds."""
    rows = _skip_locked(Pledge.objects, ids, [f.name for f in fields(LockedPledge)])
    return {str(r[0]): LockedPledge(str(r[0]), *r[1:]) for r in rows}


def lock_need_rows(ids: Iterable[str]) -> dict[str, LockedNeed]:
    """Lock needs (not their organizations) in one statement, skipping those another
    transaction holds; each with its organization's status and time zone."""
    names = [f.name for f in fields(LockedNeed)]
    names[-2:] = ["organization__status", "organization__time_zone"]
    rows = _skip_locked(Need.objects, ids, names, of=("self",))
    return {str(r[0]): LockedNeed(str(r[0]), *r[1:6], str(r[6]), *r[7:]) for r in rows}


def lock_allocation_ids(ids: Iterable[str]) -> set[str]:
    """Lock allocations in one statement; the ids of those locked (others are held)."""
    return {str(pk) for (pk,) in _skip_locked(Allocation.objects, ids, ["pk"])}
