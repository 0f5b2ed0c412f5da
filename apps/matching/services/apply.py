"""Write a solution: only its difference from the current proposals, under row locks.

The solver worked on a snapshot read without locks; here every pledge and need involved is
locked in the global order (``locks.py``), re-checked (still live, still open, organization
still verified, capacity still there), and the proposals are released, resized or created so
that the database holds the solution. What no longer fits is trimmed and counted as stale.
Applying the same solution twice changes nothing the second time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from aidmatch.lifecycle import NEED_FUNDABLE, PLEDGE_LIVE, AllocationStatus, OrganizationStatus
from aidmatch.matching.types import Row
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
    """Rows (pool minor units) as money in the pledge's and the need's currency."""
    pool, targets = world.pool, {}
    declined = {p.id: p.declined for p in world.pledges if p.declined}
    for row in rows:
        if row.need in declined.get(row.pledge, ()):
            continue  # the donor said no to this need (the solver knows; this holds regardless)
        pc, nc = world.pledge_currency[row.pledge], world.need_currency[row.need]
        explanation = {**row.explanation, "run": str(run.pk), "pool_currency": pool.currency}
        current = world.current.get((row.pledge, row.need))
        if current is not None and pool.to_pool(current.amount, pc) == row.amount:
            # the same money in the pool: keep the proposal to the cent (no churn by rounding)
            targets[row.pledge, row.need] = Target(
                current.amount, current.need_amount, current.explanation or explanation
            )
            continue
        amount = pool.from_pool(row.amount, pc)
        need_amount = pool.convert(amount, pc, nc)
        if amount > 0 and need_amount > 0:
            targets[row.pledge, row.need] = Target(amount, need_amount, explanation)
    return targets


def _rate_source(world: World, pc: str, nc: str) -> str:
    if pc == nc:
        return ""
    parts = [f"{c}: {world.pool.sources[c][0]}" for c in (pc, nc) if c != world.pool.currency]
    return f"via {world.pool.currency} ({'; '.join(parts)})"[:100]


@transaction.atomic
def apply_solution(*, world: World, rows: list[Row], run: MatchRun) -> Outcome:
    targets = _targets(world, rows, run)
    now = timezone.now()
    outcome = Outcome()

    pledge_ids = {p for p, _ in targets} | {p for p, _ in world.current}
    pledges = {str(k): v for k, v in lock_pledges(pledge_ids).items()}
    live_rows = list(
        Allocation.objects.filter(status=A.PROPOSED, pledge_id__in=list(pledges)).values_list(
            "pk", "need_id"
        )
    )
    need_ids = {n for _, n in targets} | {str(n) for _, n in live_rows}
    needs = {str(k): v for k, v in lock_needs(need_ids).items()}
    current = {
        (str(a.pledge_id), str(a.need_id)): a
        for a in lock_allocations([pk for pk, _ in live_rows]).values()
    }
    verified = set(
        Organization.objects.filter(
            pk__in={n.organization_id for n in needs.values()},
            status=OrganizationStatus.VERIFIED,
        ).values_list("pk", flat=True)
    )

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
            and n.deadline >= world.today
            and n.organization_id in verified
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
        allocation.updated_at = now
        changed_allocations.append(allocation)
        outcome.resized += 1

    # 1. Release proposals the solution no longer wants (or that are no longer eligible), and
    #    shrink those it wants smaller: this frees capacity before anything grows.
    grow: list[tuple[tuple[str, str], Target]] = []
    for key, allocation in sorted(current.items()):
        target = targets.get(key)
        pid, nid = key
        if target is None or not (pledge_ok(pid) and need_ok(nid)):
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
                rate=world.pool.cross_rate(pc, nc),
                rate_source=_rate_source(world, pc, nc),
                rate_date=world.today if pc != nc else None,
                explanation=target.explanation,
                commit_deadline=now + pledge.commit_window,
                match_run=run,
            )
            new_allocations.append(allocation)
            outcome.created += 1
        if pledge.auto_commit:
            outcome.auto_commit.append(allocation.pk)

    # 3. Write: the allocations, then every pledge and need whose totals moved.
    Allocation.objects.bulk_update(
        changed_allocations,
        [
            "status",
            "closed_at",
            "close_reason",
            "amount",
            "need_amount",
            "explanation",
            "match_run",
            "updated_at",
        ],
        batch_size=1000,
    )
    Allocation.objects.bulk_create(new_allocations, batch_size=1000)
    for pid in touched_pledges:
        refresh_pledge_status(pledges[pid])
        pledges[pid].updated_at = now
    for nid in touched_needs:
        refresh_need_status(needs[nid])
        needs[nid].updated_at = now
    fields = ["proposed_amount", "status", "updated_at"]
    Pledge.objects.bulk_update([pledges[p] for p in sorted(touched_pledges)], fields, 1000)
    Need.objects.bulk_update([needs[n] for n in sorted(touched_needs)], fields, 1000)
    return outcome


def admitted_by_counts(rows: list[Row]) -> dict[str, int]:
    return dict(Counter(r.explanation.get("admitted_by", "?") for r in rows))
