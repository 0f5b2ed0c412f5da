"""The incremental path: a new pledge gets its proposals at once, whatever the size of the world
and whether a full run is in progress.

It never loads the world. Under a short transaction it locks the pledge (NOWAIT), reads the
needs its earmarks can reach in weight order (most urgent, then nearest deadline, then id)
through the partial index ``need_matchable_by_weight`` (only needs with at least one unit of
their currency still to place: the cents that conversions leave on needs matched in full would
otherwise fill the first pages), a page at a time, until the needs read can take the pledge.
It locks those needs with ``SKIP LOCKED``, so it never waits for a full run's write (a busy need
is passed over, the next one in weight order takes the money), places the pledge with
``aidmatch.matching.insert_greedy`` on that small world (the same rules as everywhere:
earmarks, weights, rounding), and writes the proposals and the cached totals before it
commits. A need's room is what is left after every live allocation (``remaining_amount``:
amount − committed − proposed), so money already proposed to other pledges counts, and the
database's constraints (``need_not_over_allocated``, ``pledge_not_over_allocated``) hold
whatever runs at the same time.

It takes no advisory lock: the full run's single-flight lock is not for it, and two incremental
runs for different pledges run side by side (each skips the needs the other holds for the few
milliseconds of its write). A pledge whose row or needs were busy is tried again a few times
within ``MATCHING_INCREMENTAL_RETRY_SECONDS``; what is still left then is placed by the
debounced full run scheduled beside every incremental one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Case, DecimalField, Q, Value, When
from django.utils import timezone

from aidmatch import matching
from aidmatch.lifecycle import NEED_FUNDABLE, PLEDGE_LIVE, AllocationStatus, OrganizationStatus
from aidmatch.matching.types import NeedIn, PledgeIn, Row
from apps.core.dates import local_date
from apps.matching.models import Allocation, MatchRun
from apps.matching.services.allocations import refresh_need_status, refresh_pledge_status
from apps.matching.services.apply import TOTAL_COLUMNS, Outcome, _rate_fields, _targets
from apps.matching.services.bulk import bulk_update
from apps.matching.services.snapshot import Pool, World, load_pool
from apps.needs.models import Need
from apps.organizations.models import Organization
from apps.pledges.models import Pledge

log = logging.getLogger(__name__)

PAGE_FIRST = 32  # needs read in the first page; each next page is four times larger
PAGE_MAX = 2048
BUSY_MAX = 512  # needs found held by others in one attempt before it waits and tries again
LOCK_NOT_AVAILABLE = "55P03"
_EVERY_RATE = "*"  # any code but the pool's: load_pool reads every rate
NEED_FIELDS = (
    "id",
    "currency_id",
    "sector_id",
    "province_id",
    "organization_id",
    "urgency",
    "deadline",
)


@dataclass
class Placed:
    """What the incremental path wrote (the run's figures) and what it read."""

    created: int = 0
    funded_minor: int = 0  # pool minor units of the proposals written
    objective: int = 0  # Σ weight × pool minor units written
    pledges_seen: int = 0
    needs_seen: int = 0  # needs read from the index, over every page and attempt
    pages: int = 0
    needs_busy: int = 0  # needs passed over because another transaction held them
    pledges_busy: int = 0  # attempts that found a pledge held by another transaction
    attempts: int = 0
    rows: list[Row] = field(default_factory=list)
    auto_commit: list = field(default_factory=list)
    seconds_load: float = 0.0
    seconds_solve: float = 0.0
    seconds_write: float = 0.0

    def add(self, other: Placed) -> None:
        for name, value in other.__dict__.items():
            setattr(self, name, getattr(self, name) + value)


class _Busy(Exception):
    """The pledge row is held by another transaction (a full run's write, a donor's request)."""


def place_pledges(*, pledge_ids, run: MatchRun) -> Placed:
    """Place each new pledge's money (pledges in id order); the total of what was written."""
    total = Placed()
    # Every rate to the pool, read before any lock is taken (the needs' currencies are not
    # known before they are read).
    now = timezone.now()
    pool = load_pool(on=now.date(), currencies={_EVERY_RATE})
    # The earliest "today" of any verified organization's time zone: needs due before it are
    # over everywhere, so the page's query leaves them out (the exact test is per organization).
    zones = (
        Organization.objects.filter(status=OrganizationStatus.VERIFIED)
        .order_by()
        .values_list("time_zone", flat=True)
        .distinct()
    )
    earliest = min((local_date(z, now=now) for z in zones), default=now.date())
    for pledge_id in sorted({str(p) for p in pledge_ids}):
        total.add(place_pledge(pledge_id=pledge_id, run=run, pool=pool, earliest=earliest))
    return total


def place_pledge(*, pledge_id, run: MatchRun, pool: Pool, earliest) -> Placed:
    """Place what the pledge has left; retried while its row or its needs are busy."""
    total = Placed()
    deadline = time.monotonic() + settings.MATCHING_INCREMENTAL_RETRY_SECONDS
    pause = 0.05
    while True:
        total.attempts += 1
        try:
            placed, left = _place_once(pledge_id, run, pool, earliest)
            total.add(placed)
            # Worth waiting for: nothing placed for want of free needs, or most needs held (a
            # full run's write). A few needs held while the rest was placed: the full run
            # places the rest.
            busy = placed.needs_busy >= BUSY_MAX or (placed.needs_busy > 0 and not placed.created)
        except _Busy:
            total.pledges_busy += 1
            left = busy = True
        if not (left and busy) or time.monotonic() + pause > deadline:
            return total
        time.sleep(pause)
        pause = min(pause * 2, 1.0)


def _place_once(pledge_id: str, run: MatchRun, pool: Pool, earliest) -> tuple[Placed, bool]:
    """One attempt, one transaction: (what was written, whether money is left to place)."""
    out = Placed()
    t0 = time.perf_counter()
    now = timezone.now()
    today = now.date()
    with transaction.atomic():
        pledge = _lock_pledge(pledge_id)
        if pledge is None or pledge.status not in PLEDGE_LIVE:
            return out, False
        if pledge.expires_at is not None and pledge.expires_at <= now:
            return out, False
        out.pledges_seen = 1
        if pledge.currency_id not in pool.rates:
            return out, False  # no rate to the pool: the full run reports it
        room = pledge.amount - pledge.committed_amount - pledge.proposed_amount
        capacity = pool.to_pool(room, pledge.currency_id)
        if capacity < settings.MATCHING_MIN_UNITS:
            return out, False
        wanted = _pledge_in(pledge, capacity)
        needs, need_rows = _reachable_needs(wanted, pool, now, earliest, out)
        t1 = time.perf_counter()
        solution = matching.insert_greedy(
            [wanted],
            needs,
            [],
            new_pledges=[wanted.id],
            today=today,
            min_amount=settings.MATCHING_MIN_UNITS,
        )
        t2 = time.perf_counter()
        world = World(
            pool=pool,
            today=today,
            pledges=[wanted],
            needs=needs,
            proposals=[],
            pledge_currency={wanted.id: pledge.currency_id},
            need_currency={n.id: need_rows[n.id]["currency_id"] for n in needs},
            pledge_remaining={wanted.id: room},
            need_remaining={
                n.id: need_rows[n.id]["amount"] - need_rows[n.id]["committed_amount"] for n in needs
            },
            current={},
        )
        weights = {n.id: matching.weight(n, today) for n in needs}
        _write(pledge, world, list(solution.rows), need_rows, weights, run, now, out)
        t3 = time.perf_counter()
    out.seconds_load, out.seconds_solve, out.seconds_write = t1 - t0, t2 - t1, t3 - t2
    left = out.funded_minor < capacity - settings.MATCHING_MIN_UNITS
    return out, left


def _lock_pledge(pledge_id: str) -> Pledge | None:
    try:
        # A savepoint, so that a refusal leaves the transaction usable for the caller's retry.
        with transaction.atomic():
            return (
                Pledge.objects.select_for_update(no_key=True, nowait=True)
                .filter(pk=pledge_id)
                .first()
            )
    except DatabaseError as exc:
        if getattr(exc.__cause__, "pgcode", None) == LOCK_NOT_AVAILABLE:
            raise _Busy from exc
        raise


def _pledge_in(pledge: Pledge, capacity: int) -> PledgeIn:
    pid = str(pledge.pk)
    declined = Allocation.objects.filter(
        pledge_id=pledge.pk, status=AllocationStatus.DECLINED
    ).values_list("need_id", flat=True)
    return PledgeIn(
        id=pid,
        capacity=capacity,
        sectors=frozenset(
            Pledge.earmark_sectors.through.objects.filter(pledge_id=pledge.pk).values_list(
                "sector_id", flat=True
            )
        ),
        provinces=frozenset(
            Pledge.earmark_provinces.through.objects.filter(pledge_id=pledge.pk).values_list(
                "province_id", flat=True
            )
        ),
        organization=str(pledge.earmark_organization_id)
        if pledge.earmark_organization_id
        else None,
        need=str(pledge.earmark_need_id) if pledge.earmark_need_id else None,
        expires_at=pledge.expires_at,
        declined=frozenset(str(n) for n in declined),
    )


def _reachable_needs(pledge: PledgeIn, pool: Pool, now, earliest, out: Placed):
    """The needs the pledge's earmarks admit, in weight order, locked (busy ones skipped),
    a page at a time until their room covers the pledge. Returns (NeedIn list, rows by id)."""
    reach = Need.objects.filter(
        status__in=NEED_FUNDABLE,
        remaining_amount__gte=1,  # with the status: the partial index's condition
        deadline__gte=earliest,  # each deadline is then judged in its organization's day
    ).filter(remaining_amount__gte=_worth_matching(pool))
    if pledge.sectors:
        reach = reach.filter(sector_id__in=sorted(pledge.sectors))
    if pledge.provinces:
        reach = reach.filter(province_id__in=sorted(pledge.provinces))
    if pledge.organization is not None:
        reach = reach.filter(organization_id=pledge.organization)
    if pledge.need is not None:
        reach = reach.filter(pk=pledge.need)
    reach = reach.order_by("-urgency", "deadline", "id").values(*NEED_FIELDS)

    needs: list[NeedIn] = []
    rows: dict[str, dict] = {}
    covered, size, last = 0, PAGE_FIRST, None
    org_today: dict = {}
    while covered < pledge.capacity:
        page = reach
        if last is not None:  # keyset: after the last need read, in the index's order
            u, d, i = last["urgency"], last["deadline"], last["id"]
            page = page.filter(urgency__lte=u).exclude(
                Q(urgency=u) & (Q(deadline__lt=d) | Q(deadline=d, id__lte=i))
            )
        read = list(page[:size])
        out.pages += 1
        out.needs_seen += len(read)
        # Verified organizations and their "today", for this page's needs. A query of its own:
        # joined into the page, the planner may leave the weight index for the join.
        org_today.update(
            (pk, local_date(time_zone, now=now))
            for pk, time_zone in Organization.objects.filter(
                pk__in={r["organization_id"] for r in read} - set(org_today),
                status=OrganizationStatus.VERIFIED,
            ).values_list("pk", "time_zone")
        )
        candidates = {
            str(r["id"]): r
            for r in read
            if str(r["id"]) not in pledge.declined
            and r["currency_id"] in pool.rates
            and r["organization_id"] in org_today
            and r["deadline"] >= org_today[r["organization_id"]]
        }
        locked = _lock_needs(candidates)
        for r in locked:
            nid = str(r["id"])
            row = {**candidates[nid], **r}
            capacity = pool.to_pool(row["remaining_amount"], row["currency_id"])
            if row["status"] not in NEED_FUNDABLE or capacity < settings.MATCHING_MIN_UNITS:
                continue
            rows[nid] = row
            needs.append(
                NeedIn(
                    id=nid,
                    capacity=capacity,
                    sector=row["sector_id"],
                    province=row["province_id"],
                    organization=str(row["organization_id"]),
                    urgency=row["urgency"],
                    deadline=row["deadline"],
                )
            )
            covered += capacity
        out.needs_busy += len(candidates) - len(locked)
        if len(read) < size:
            break  # nothing more can be reached
        if out.needs_busy >= BUSY_MAX:
            break  # a full run's write holds them: try again once it is over
        last, size = read[-1], min(size * 4, PAGE_MAX)
    return needs, rows


def _worth_matching(pool: Pool) -> Case:
    """The least amount left, in each need's currency, that may be worth MATCHING_MIN_UNITS of
    the pool (a bound just below it: the exact test is made on the pool units). In the page's
    query, so that needs matched in full but for a few cents of a weak currency are passed over
    by PostgreSQL, in the index, not read a page at a time."""
    floor = Decimal(settings.MATCHING_MIN_UNITS - 1).scaleb(-pool.minor_units[pool.currency])
    return Case(
        *(
            When(currency_id=code, then=Value(floor / rate))
            for code, rate in sorted(pool.rates.items())
            if rate > 0
        ),
        default=Value(Decimal(1)),
        output_field=DecimalField(max_digits=30, decimal_places=10),
    )


def _lock_needs(candidates: dict) -> list[dict]:
    """Lock the candidates that no other transaction holds, and read their totals under the
    lock (the read before was without one)."""
    if not candidates:
        return []
    return list(
        Need.objects.filter(pk__in=list(candidates))
        .order_by("pk")
        .select_for_update(no_key=True, skip_locked=True)
        .values("id", "status", "amount", "committed_amount", "proposed_amount", "remaining_amount")
    )


RATE_FIELDS = ("rate", "rate_source", "rate_date")


def _write(pledge, world: World, rows, need_rows, weights, run, now, out: Placed) -> None:
    """The greedy's rows as proposals, within what the locked pledge and needs have left."""
    pid = str(pledge.pk)
    pc = pledge.currency_id
    pool = world.pool
    room_p = pledge.amount - pledge.committed_amount - pledge.proposed_amount
    allocations, touched = [], []
    explained = {r.need: r for r in rows}
    rates: dict = {}
    for (_, nid), target in sorted(_targets(world, rows, run, Outcome()).items()):
        need = need_rows[nid]
        nc = need["currency_id"]
        amount = min(target.amount, room_p)
        need_amount = min(pool.convert(amount, pc, nc), need["remaining_amount"])
        if amount <= 0 or need_amount <= 0:
            continue
        room_p -= amount
        allocations.append(
            Allocation(
                pledge_id=pledge.pk,
                need_id=need["id"],
                amount=amount,
                need_amount=need_amount,
                **dict(zip(RATE_FIELDS, _rate_fields(world, pid, nid, rates), strict=True)),
                explanation={
                    **target.explanation,
                    "run": str(run.pk),
                    "pool_currency": pool.currency,
                },
                commit_deadline=now + pledge.commit_window,
                match_run=run,
            )
        )
        units = pool.to_pool(amount, pc)
        out.created += 1
        out.funded_minor += units
        out.objective += weights[nid] * units
        out.rows.append(Row(pid, nid, units, explained[nid].explanation))
        touched.append(
            Need(
                pk=need["id"],
                status=need["status"],
                amount=need["amount"],
                committed_amount=need["committed_amount"],
                proposed_amount=need["proposed_amount"] + need_amount,
                updated_at=now,
            )
        )
    if not allocations:
        return
    Allocation.objects.bulk_create(allocations)
    for need in touched:
        refresh_need_status(need)
    bulk_update(
        Need, TOTAL_COLUMNS, [(n.pk, n.proposed_amount, n.status) for n in touched], updated_at=now
    )
    pledge.proposed_amount += sum((a.amount for a in allocations), Decimal(0))
    refresh_pledge_status(pledge)
    pledge.updated_at = now
    pledge.save(update_fields=["proposed_amount", "status", "updated_at"])
    if pledge.auto_commit:
        out.auto_commit += [a.pk for a in allocations]
