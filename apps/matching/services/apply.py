"""Write a solution: only its difference from the current proposals, under row locks.

The solver worked on a snapshot read without locks; here every pledge and need involved is
locked in the global order (``locks.py``), re-checked (still live, still open, organization
still verified, capacity still there), and the proposals are released, resized or created so
that the database holds the solution. What no longer fits is trimmed and counted as stale.
Applying the same solution twice changes nothing the second time.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg2.extras import Json, execute_values

from aidmatch.lifecycle import NEED_FUNDABLE, PLEDGE_LIVE, AllocationStatus, OrganizationStatus
from aidmatch.matching.types import Row
from apps.core.dates import local_date
from apps.matching.locks import lock_allocations, lock_needs, lock_pledges
from apps.matching.models import Allocation, MatchRun
from apps.matching.services.allocations import refresh_need_status, refresh_pledge_status
from apps.matching.services.snapshot import World
from apps.needs.models import Need
from apps.organizations.models import Organization
from apps.pledges.models import Pledge

ZERO = Decimal(0)
A = AllocationStatus


@dataclass
class Outcome:
    created: int = 0
    resized: int = 0
    released: int = 0
    kept: int = 0
    skipped_stale: int = 0
    auto_commit: list = field(default_factory=list)  # allocation ids of auto-commit pledges

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "auto_commit"}


@dataclass(frozen=True)
class Target:
    amount: Decimal  # pledge currency
    need_amount: Decimal  # need currency
    explanation: dict


def _targets(world: World, rows: list[Row], run: MatchRun) -> dict[tuple[str, str], Target]:
    """Rows (pool minor units) as money in the pledge's and the need's currency.

    A kept proposal keeps its amounts to the cent (a change of less than MATCHING_MIN_UNITS
    is rounding, not a better use); a new row of less than that is dropped. New money of a
    pledge is converted on the running total of its rows (so rounding never leaves dust
    behind), and a pledge placed in full gives exactly what it has left.
    """
    pool, targets, dust = world.pool, {}, settings.MATCHING_MIN_UNITS
    declined = {p.id: p.declined for p in world.pledges if p.declined}
    capacity = {p.id: p.capacity for p in world.pledges}
    by_pledge: dict[str, list[Row]] = {}
    for row in rows:
        if row.need in declined.get(row.pledge, ()):
            continue  # the donor said no to this need (the solver knows; this holds regardless)
        by_pledge.setdefault(row.pledge, []).append(row)
    for pid, pledge_rows in by_pledge.items():
        pc = world.pledge_currency[pid]
        budget = world.pledge_remaining[pid]
        fresh, units_kept = [], 0
        for row in pledge_rows:
            current = world.current.get((pid, row.need))
            if current is not None and abs(pool.to_pool(current.amount, pc) - row.amount) < dust:
                targets[pid, row.need] = Target(
                    current.amount, current.need_amount, current.explanation or {}
                )
                budget -= current.amount
                units_kept += row.amount
            elif row.amount >= dust:  # a new row of rounding dust is not worth a proposal
                fresh.append(row)
        placed_units = units_kept + sum(r.amount for r in fresh)
        cumulative, given = 0, ZERO
        for i, row in enumerate(fresh):
            cumulative += row.amount
            if i == len(fresh) - 1 and placed_units >= capacity[pid]:
                total = budget  # the whole pledge is placed: the last row takes what is left
            else:
                total = min(pool.from_pool(cumulative, pc), budget)
            amount, given = total - given, total
            nc = world.need_currency[row.need]
            need_amount = pool.convert(amount, pc, nc)
            if amount > 0 and need_amount > 0:
                explanation = {
                    **row.explanation,
                    "run": str(run.pk),
                    "pool_currency": pool.currency,
                }
                targets[pid, row.need] = Target(amount, need_amount, explanation)
    return targets


def _changed_pairs(world: World, targets: dict) -> set[tuple[str, str]]:
    """The (pledge, need) pairs whose proposal the solution creates, resizes or may release,
    as the snapshot saw them; the write re-checks each under its locks."""
    changed = {
        key
        for key, target in targets.items()
        if (current := world.current.get(key)) is None
        or (current.amount, current.need_amount) != (target.amount, target.need_amount)
    }
    return changed | (set(world.current) - set(targets))


def _rate_fields(world: World, pid: str, nid: str) -> dict:
    """The rate an allocation records: the pair's rate on the run's day, and where it came from."""
    pc, nc = world.pledge_currency[pid], world.need_currency[nid]
    if pc == nc:
        return {"rate": Decimal(1), "rate_source": "", "rate_date": None}
    parts = [f"{c}: {world.pool.sources[c][0]}" for c in (pc, nc) if c != world.pool.currency]
    return {
        "rate": world.pool.cross_rate(pc, nc),
        "rate_source": f"via {world.pool.currency} ({'; '.join(parts)})"[:100],
        "rate_date": world.today,
    }


@transaction.atomic
def apply_solution(*, world: World, rows: list[Row], run: MatchRun) -> Outcome:
    targets = _targets(world, rows, run)
    now = timezone.now()
    outcome = Outcome()
    changed = _changed_pairs(world, targets)
    if not changed:
        outcome.kept = len(targets)  # no write, so no lock: a quiet sweep costs one read
        return outcome

    # Lock only the pledges whose proposals change (and every need their proposals touch).
    pledge_ids = {p for p, _ in changed}
    pledges = {str(k): v for k, v in lock_pledges(pledge_ids).items()}
    live_rows = list(
        Allocation.objects.filter(status=A.PROPOSED, pledge_id__in=list(pledges)).values_list(
            "pk", "need_id"
        )
    )
    need_ids = {n for _, n in changed} | {str(n) for _, n in live_rows}
    needs = {str(k): v for k, v in lock_needs(need_ids).items()}
    current = {
        (str(a.pledge_id), str(a.need_id)): a
        for a in lock_allocations([pk for pk, _ in live_rows]).values()
    }
    # Verified organizations, each with its own "today": a deadline is a day in its time zone.
    org_today = {
        pk: local_date(time_zone, now=now)
        for pk, time_zone in Organization.objects.filter(
            pk__in={n.organization_id for n in needs.values()},
            status=OrganizationStatus.VERIFIED,
        ).values_list("pk", "time_zone")
    }

    def pledge_ok(pid: str) -> bool:
        p = pledges.get(pid)
        return (
            p is not None
            and p.status in PLEDGE_LIVE
            and (p.expires_at is None or p.expires_at > now)
        )

    def need_ok(nid: str) -> bool:
        n = needs.get(nid)
        return (
            n is not None
            and n.status in NEED_FUNDABLE
            and n.organization_id in org_today
            and n.deadline >= org_today[n.organization_id]
        )

    changed_allocations: list[Allocation] = []
    touched_pledges: set[str] = set()
    touched_needs: set[str] = set()

    def move(pid: str, nid: str, amount: Decimal, need_amount: Decimal) -> None:
        """Add (or, negative, take back) proposed money on a pledge and a need."""
        pledges[pid].proposed_amount += amount
        needs[nid].proposed_amount += need_amount
        touched_pledges.add(pid)
        touched_needs.add(nid)

    def resize(allocation: Allocation, amount: Decimal, need_amount: Decimal, target) -> None:
        pid, nid = str(allocation.pledge_id), str(allocation.need_id)
        move(pid, nid, amount - allocation.amount, need_amount - allocation.need_amount)
        allocation.amount, allocation.need_amount = amount, need_amount
        allocation.explanation, allocation.match_run = target.explanation, run
        # the whole proposal at today's rate, the one both amounts were converted at
        for name, value in _rate_fields(world, pid, nid).items():
            setattr(allocation, name, value)
        allocation.updated_at = now
        changed_allocations.append(allocation)
        outcome.resized += 1

    # 1. Release proposals the solution no longer wants (or that are no longer eligible), and
    #    shrink those it wants smaller: this frees capacity before anything grows.
    grow: list[tuple[tuple[str, str], Target]] = []
    considered = {(p.pledge, p.need) for p in world.proposals}
    for key, allocation in sorted(current.items()):
        target = targets.get(key)
        pid, nid = key
        eligible = pledge_ok(pid) and need_ok(nid)
        if target is None and eligible and key not in considered:
            outcome.kept += 1  # too small for the pool, or newer than the snapshot: left alone
            continue
        if target is None or not eligible:
            allocation.status = A.RELEASED
            allocation.closed_at = allocation.updated_at = now
            allocation.close_reason = "released by matching: no longer in the best allocation"
            move(pid, nid, -allocation.amount, -allocation.need_amount)
            changed_allocations.append(allocation)
            outcome.released += 1
        elif target.amount < allocation.amount:
            resize(allocation, target.amount, target.need_amount, target)
        elif target.amount == allocation.amount:
            outcome.kept += 1
    for key, target in sorted(targets.items()):
        if key[0] not in pledges:
            continue  # unchanged in the snapshot: nothing to write
        allocation = current.get(key)
        if allocation is None or target.amount > allocation.amount:
            grow.append((key, target))

    # 2. Grow and create, within what each locked pledge and need still has.
    new_allocations: list[Allocation] = []
    for (pid, nid), target in grow:
        if not (pledge_ok(pid) and need_ok(nid)):
            outcome.skipped_stale += 1
            continue
        pledge, need = pledges[pid], needs[nid]
        allocation = current.get((pid, nid))
        have_amount = allocation.amount if allocation else ZERO
        have_need = allocation.need_amount if allocation else ZERO
        pc, nc = world.pledge_currency[pid], world.need_currency[nid]
        room_p = pledge.amount - pledge.committed_amount - pledge.proposed_amount
        room_n = need.amount - need.committed_amount - need.proposed_amount
        delta = target.amount - have_amount
        if delta > room_p or target.need_amount - have_need > room_n:
            outcome.skipped_stale += 1
            delta = min(delta, room_p, world.pool.convert(room_n, nc, pc))
            if delta <= 0:
                continue
        amount = have_amount + delta
        need_amount = min(world.pool.convert(amount, pc, nc), have_need + room_n)
        if need_amount <= have_need:
            continue
        if allocation is not None:
            resize(allocation, amount, need_amount, target)
        else:
            move(pid, nid, amount, need_amount)
            allocation = Allocation(
                pledge_id=pledge.pk,
                need_id=need.pk,
                amount=amount,
                need_amount=need_amount,
                **_rate_fields(world, pid, nid),
                explanation=target.explanation,
                commit_deadline=now + pledge.commit_window,
                match_run=run,
            )
            new_allocations.append(allocation)
            outcome.created += 1
        if pledge.auto_commit:
            outcome.auto_commit.append(allocation.pk)

    outcome.kept += sum(1 for pid, _ in targets if pid not in pledges)  # not even locked

    # 3. Write: the allocations, then every pledge and need whose totals moved.
    _bulk_update(Allocation, changed_allocations, ALLOCATION_FIELDS)
    Allocation.objects.bulk_create(new_allocations, batch_size=1000)
    for pid in touched_pledges:
        refresh_pledge_status(pledges[pid])
        pledges[pid].updated_at = now
    for nid in touched_needs:
        refresh_need_status(needs[nid])
        needs[nid].updated_at = now
    _bulk_update(Pledge, [pledges[p] for p in sorted(touched_pledges)], TOTAL_FIELDS)
    _bulk_update(Need, [needs[n] for n in sorted(touched_needs)], TOTAL_FIELDS)
    return outcome


TOTAL_FIELDS = {"proposed_amount": "numeric", "status": "text", "updated_at": "timestamptz"}
ALLOCATION_FIELDS = {
    "status": "text",
    "closed_at": "timestamptz",
    "close_reason": "text",
    "amount": "numeric",
    "need_amount": "numeric",
    "explanation": "jsonb",
    "match_run_id": "uuid",
    "rate": "numeric",
    "rate_source": "text",
    "rate_date": "date",
    "updated_at": "timestamptz",
}


def _bulk_update(model, objs: list, fields: dict[str, str]) -> None:
    """Update many rows by primary key. On PostgreSQL one ``UPDATE … FROM (VALUES …)`` per
    thousand rows (Django's bulk_update builds CASE expressions that grow with the batch);
    elsewhere Django's bulk_update."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        names = [f.removesuffix("_id") if f.endswith("_id") else f for f in fields]
        model.objects.bulk_update(objs, names, batch_size=500)
        return
    table = connection.ops.quote_name(model._meta.db_table)
    sets = ", ".join(f"{name} = v.{name}" for name in fields)
    columns = ", ".join(fields)
    template = "(%s::uuid, " + ", ".join(f"%s::{kind}" for kind in fields.values()) + ")"
    values = [
        (
            str(obj.pk),
            *(
                Json(getattr(obj, name)) if kind == "jsonb" else _plain(getattr(obj, name))
                for name, kind in fields.items()
            ),
        )
        for obj in objs
    ]
    with connection.cursor() as cursor:
        execute_values(
            cursor.cursor,
            # names from the model's metadata and this module's constants, never from input
            f"UPDATE {table} AS t SET {sets} FROM (VALUES %s) AS v(id, {columns}) "  # noqa: S608
            "WHERE t.id = v.id",
            values,
            template=template,
            page_size=1000,
        )


def _plain(value):
    return str(value) if isinstance(value, uuid.UUID) else value


def admitted_by_counts(rows: list[Row]) -> dict[str, int]:
    return dict(Counter(r.explanation.get("admitted_by", "?") for r in rows))
