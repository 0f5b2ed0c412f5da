"""Row locks in one fixed order: pledges, then needs, then allocations, each by primary key.

Every write that moves money takes its locks through these helpers, so two writers never wait
on each other in opposite orders (no deadlocks), and a check made under the locks still holds
when the write lands.

Every row lock in the service is ``FOR NO KEY UPDATE`` (``select_for_update(no_key=True)``): we
never change a primary key, and a plain ``FOR UPDATE`` also blocks the ``FOR KEY SHARE`` that a
foreign-key check takes. Those checks are deferred to COMMIT, after the audit chain's lock is
held, so an insert naming a locked row (a pledge earmarking a need, a ledger leg naming a
pledge) would wait at COMMIT for the lock's holder while that holder waited for the chain: a
deadlock (found by bench/chaos.py; tests/apps/core/test_deadlocks.py).
"""

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection, transaction
from django.db.models import OuterRef

from aidmatch.lifecycle import AllocationStatus
from apps.matching.models import Allocation
from apps.matching.services.bulk import array_literal
from apps.needs.models import Need
from apps.pledges.models import Pledge
from apps.reference.models import Province, Sector

EARMARKS = {"earmark_sectors": (Sector, "code"), "earmark_provinces": (Province, "pcode")}

MAX_ATTEMPTS = 5


# What the locks load beside the rows, in the same statement (only the rows themselves are
# locked): what the events written under these locks show (``apps.events.payloads``: the
# donor's name on an allocation, the organization's public name and time zone on a need), so
# writing an event costs no query. The organization's encrypted contacts are never loaded.
_ORGANIZATION_LOADED = ("id", "name", "pseudonym", "sensitive", "status", "time_zone", "kind")
_ORGANIZATION_DEFERRED = tuple(
    f"organization__{f.name}"
    for f in Need._meta.get_field("organization").related_model._meta.concrete_fields
    if f.name not in _ORGANIZATION_LOADED
)


def lock_pledges(ids: Iterable, *, earmarks: bool = False) -> dict:
    """With ``earmarks``, the pledges' earmarked sectors and provinces come in the same
    statement (for a pledge's own event)."""
    ids = sorted(set(ids), key=str)
    if not ids:
        return {}
    rows = (
        Pledge.objects.filter(pk__in=ids)
        .select_related("donor", "currency")
        .order_by("pk")
        .select_for_update(no_key=True, of=("self",))
    )
    if not earmarks:
        return {p.pk: p for p in rows}
    rows = rows.annotate(**{f"{name}_codes": _codes(name) for name in EARMARKS})
    pledges = {}
    for pledge in rows:
        for name, (model, key) in EARMARKS.items():
            shown = [model(**{key: code}) for code in getattr(pledge, f"{name}_codes") or ()]
            set_prefetched(pledge, name, shown)
        pledges[pledge.pk] = pledge
    return pledges


def _codes(name: str) -> ArraySubquery:
    through = getattr(Pledge, name).through
    column = EARMARKS[name][0]._meta.model_name + "_id"
    return ArraySubquery(
        through.objects.filter(pledge_id=OuterRef("pk")).order_by(column).values(column)
    )


def set_prefetched(obj, name: str, rows) -> None:
    """Let ``obj.<name>.all()`` give ``rows`` (already loaded) without a query."""
    manager = getattr(obj, name)
    queryset = manager.all()
    queryset._result_cache = list(rows)
    queryset._prefetch_done = True
    if not hasattr(obj, "_prefetched_objects_cache"):
        obj._prefetched_objects_cache = {}
    name = getattr(manager, "prefetch_cache_name", None)  # many-to-many
    if name is None:  # the reverse of a foreign key
        name = manager.field.remote_field.cache_name
    obj._prefetched_objects_cache[name] = queryset


def lock_needs(ids: Iterable, *, line_items: bool = False) -> dict:
    """With ``line_items``, the needs' line items come in the same statement (for a need's
    own event, which shows them)."""
    ids = sorted(set(ids), key=str)
    if not ids:
        return {}
    rows = (
        Need.objects.filter(pk__in=ids)
        .select_related("organization", "currency")
        .defer(*_ORGANIZATION_DEFERRED)
        .order_by("pk")
        .select_for_update(no_key=True, of=("self",))
    )
    if line_items and connection.vendor == "postgresql":
        from apps.needs.selectors import _LINE_ITEMS, _line_items_column, prepare_to_show

        needs = list(rows.annotate(**{_LINE_ITEMS: _line_items_column()}))
        prepare_to_show(needs, ())
        return {n.pk: n for n in needs}
    return {n.pk: n for n in rows}


def lock_allocations(ids: Iterable) -> dict:
    ids = sorted(set(ids), key=str)
    if not ids:
        return {}
    return {
        a.pk: a
        for a in Allocation.objects.filter(pk__in=ids).order_by("pk").select_for_update(no_key=True)
    }


def lock_need_with_pledges(need_id, statuses=(AllocationStatus.PROPOSED,)):
    """Lock a need and the pledges of its allocations in ``statuses``, in the global order.
    Returns (need, pledges by id, allocations by id). Call inside a transaction."""
    needs, pledges, allocations = lock_needs_with_pledges([need_id], statuses, line_items=True)
    if need_id not in needs:
        raise Need.DoesNotExist(need_id)
    return needs[need_id], pledges, allocations


def lock_needs_with_pledges(need_ids, statuses=(AllocationStatus.PROPOSED,), *, line_items=False):
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
                needs = lock_needs(need_ids, line_items=line_items)
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
    pledges = lock_pledges([pledge_id], earmarks=connection.vendor == "postgresql")
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
    # What the run's ``allocation.proposed`` events show and whom they go to:
    currency_id: str
    donor_id: object
    donor_organization_id: object
    anonymous: bool
    donor_full_name: str | None


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
    # What the run's ``allocation.proposed`` events show:
    currency_id: str
    organization_name: str
    organization_pseudonym: str
    organization_sensitive: bool


def _skip_locked(
    queryset, ids, names: list[str], sql: str, of: str = "", *, lock: bool = True
) -> list[tuple]:
    """Rows of ``ids`` locked in one statement (SKIP LOCKED), ids as text; without ``lock``,
    read only. On PostgreSQL the plain ``sql`` with one array parameter; elsewhere (SQLite has
    no row locks) the ORM."""
    ids = sorted(set(map(str, ids)))
    if not ids:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            tail = f" FOR NO KEY UPDATE {f'OF {of} ' if of else ''}SKIP LOCKED" if lock else ""
            cursor.execute(f"{sql} ORDER BY 1{tail}", [array_literal(ids, "uuid")])
            return cursor.fetchall()
    rows = queryset.filter(pk__in=ids).order_by("pk")
    if lock:
        rows = rows.select_for_update(no_key=True, skip_locked=True)
    return [(str(r[0]), *r[1:]) for r in rows.values_list(*names)]


def lock_pledge_rows(ids: Iterable[str], *, lock: bool = True) -> dict[str, LockedPledge]:
    """Lock pledges (not their donors) in one statement, skipping those another transaction
    holds; each with its donor's name (shown on its proposals' events). Without ``lock``,
    the same rows read (the relay rendering those events)."""
    names = [f.name for f in fields(LockedPledge)]
    names[-1] = "donor__full_name"
    columns = ", ".join(f"p.{name}" for name in names[1:-1])
    sql = (
        f"SELECT p.id::text, {columns}, u.full_name FROM pledges_pledge p "  # noqa: S608
        "LEFT JOIN accounts_user u ON u.id = p.donor_id WHERE p.id = ANY(%s::uuid[])"
    )
    rows = _skip_locked(Pledge.objects, ids, names, sql, of="p", lock=lock)
    return {r[0]: LockedPledge(*r) for r in rows}


def lock_need_rows(ids: Iterable[str], *, lock: bool = True) -> dict[str, LockedNeed]:
    """Lock needs (not their organizations) in one statement, skipping those another
    transaction holds; each with its organization's status and time zone (and what its
    proposals' events show of it). Without ``lock``, the same rows read."""
    names = [f.name for f in fields(LockedNeed)]
    names[7:9] = ["organization__status", "organization__time_zone"]
    names[-3:] = ["organization__name", "organization__pseudonym", "organization__sensitive"]
    sql = (
        "SELECT n.id::text, n.status, n.amount, n.committed_amount, n.proposed_amount, "
        "n.deadline, n.organization_id::text, o.status, o.time_zone, n.currency_id, o.name, "
        "o.pseudonym, o.sensitive FROM needs_need n "
        "JOIN organizations_organization o ON o.id = n.organization_id "
        "WHERE n.id = ANY(%s::uuid[])"
    )
    rows = _skip_locked(Need.objects, ids, names, sql, of="n", lock=lock)
    return {r[0]: LockedNeed(*r[:6], str(r[6]), *r[7:]) for r in rows}


def lock_allocation_ids(ids: Iterable[str]) -> set[str]:
    """Lock allocations in one statement; the ids of those locked (others are held)."""
    sql = "SELECT id::text FROM matching_allocation WHERE id = ANY(%s::uuid[])"
    return {pk for (pk,) in _skip_locked(Allocation.objects, ids, ["pk"], sql)}


def live_proposals(pledge_ids: Iterable[str]) -> list[tuple]:
    """(id, pledge id, need id, amount, need amount) of the proposals of pledges, ids as text."""
    ids = sorted(set(map(str, pledge_ids)))
    if not ids:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id::text, pledge_id::text, need_id::text, amount, need_amount "
                "FROM matching_allocation WHERE status = %s AND pledge_id = ANY(%s::uuid[])",
                [AllocationStatus.PROPOSED.value, array_literal(ids, "uuid")],
            )
            return cursor.fetchall()
    rows = Allocation.objects.filter(status=AllocationStatus.PROPOSED, pledge_id__in=ids)
    names = ("pk", "pledge_id", "need_id", "amount", "need_amount")
    return [(str(pk), str(p), str(n), a, na) for pk, p, n, a, na in rows.values_list(*names)]
