"""Allocations: propose, commit, decline, release. Each keeps the cached totals of its pledge
and need in the same transaction, under row locks taken in the global order (``locks.py``)."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as _

from aidmatch.errors import NotPermitted, RuleViolation, StateConflict
from aidmatch.events import EventType
from aidmatch.lifecycle import (
    NEED_FUNDABLE,
    PLEDGE_LIVE,
    AllocationStatus,
    NeedStatus,
    PledgeStatus,
    check_transition,
    need_funding_status,
    pledge_allocation_status,
)
from apps.audit.services import audit_record
from apps.events import payloads as events
from apps.ledger import services as ledger  # ledger: postings in the same transaction
from apps.matching.locks import lock_allocations, lock_needs, lock_pledges
from apps.matching.models import Allocation
from apps.matching.triggers import request_matching
from apps.needs.models import Need
from apps.pledges.models import Pledge

ZERO = Decimal("0")
A = AllocationStatus


def refresh_pledge_status(pledge: Pledge) -> None:
    """Derive a live pledge's status from its totals (withdrawn and expired stay as they are)."""
    if pledge.status not in {*PLEDGE_LIVE, PledgeStatus.FULFILLED}:
        return
    target = pledge_allocation_status(
        pledge.amount, pledge.proposed_amount + pledge.committed_amount, pledge.disbursed_amount
    )
    check_transition("pledge", pledge.status, target)
    pledge.status = target


def refresh_need_status(need: Need) -> None:
    """Derive an approved need's status from the money committed to it."""
    if need.status not in {*NEED_FUNDABLE, NeedStatus.FUNDED}:
        return
    target = need_funding_status(need.amount, need.committed_amount)
    check_transition("need", need.status, target)
    need.status = target


def _save_totals(pledge: Pledge, need: Need) -> None:
    refresh_pledge_status(pledge)
    refresh_need_status(need)
    pledge.save(update_fields=["proposed_amount", "committed_amount", "status", "updated_at"])
    need.save(update_fields=["proposed_amount", "committed_amount", "status", "updated_at"])


def allocation_propose(
    *,
    pledge: Pledge,
    need: Need,
    amount: Decimal,
    need_amount: Decimal,
    rate: Decimal = Decimal(1),
    rate_source: str = "",
    rate_date=None,
    explanation: dict | None = None,
) -> Allocation:
    """Place ``amount`` of a locked pledge on a locked need. The caller holds both locks."""
    if pledge.status not in PLEDGE_LIVE or need.status not in NEED_FUNDABLE:
        raise StateConflict(_("Only live pledges and open needs can be matched."))
    if amount <= 0 or need_amount <= 0:
        raise RuleViolation(_("An allocation moves a positive amount."))
    if amount > pledge.amount - pledge.proposed_amount - pledge.committed_amount:
        raise StateConflict(_("The pledge does not have this much available."))
    if need_amount > need.amount - need.proposed_amount - need.committed_amount:
        raise StateConflict(_("The need does not have this much remaining."))
    allocation = Allocation.objects.create(
        pledge=pledge,
        need=need,
        amount=amount,
        need_amount=need_amount,
        rate=rate,
        rate_source=rate_source,
        rate_date=rate_date,
        explanation=explanation or {},
        commit_deadline=timezone.now() + pledge.commit_window,
    )
    pledge.proposed_amount += amount
    need.proposed_amount += need_amount
    _save_totals(pledge, need)
    events.record(
        events.allocation_event(EventType.ALLOCATION_PROPOSED, allocation, pledge=pledge, need=need)
    )
    return allocation


def _locked(allocation_id) -> tuple[Allocation, Pledge, Need]:
    """Lock an allocation's pledge, need and the allocation itself, in the global order."""
    row = Allocation.objects.filter(pk=allocation_id).values("pledge_id", "need_id").first()
    if row is None:
        raise Allocation.DoesNotExist(allocation_id)
    pledge = lock_pledges([row["pledge_id"]])[row["pledge_id"]]
    need = lock_needs([row["need_id"]], line_items=True)[row["need_id"]]  # need.funded shows them
    allocation = lock_allocations([allocation_id])[allocation_id]
    return allocation, pledge, need


@transaction.atomic
def allocation_commit(*, allocation_id, actor=None) -> Allocation:
    """The donor confirms a proposal: its money becomes committed to the need."""
    allocation, pledge, need = _locked(allocation_id)
    if actor is not None and pledge.donor_id is not None and pledge.donor_id != actor.pk:
        raise NotPermitted(_("Only the donor of the pledge may commit its allocations."))
    check_transition("allocation", allocation.status, A.COMMITTED)
    if allocation.status == A.COMMITTED:
        return allocation
    if need.status not in NEED_FUNDABLE:
        raise StateConflict(_("The need is no longer open for funding."))
    allocation.status = A.COMMITTED
    allocation.committed_at = timezone.now()
    allocation.committed_by = actor if getattr(actor, "pk", None) else None
    allocation.save(update_fields=["status", "committed_at", "committed_by", "updated_at"])
    pledge.proposed_amount -= allocation.amount
    pledge.committed_amount += allocation.amount
    need.proposed_amount -= allocation.need_amount
    need.committed_amount += allocation.need_amount
    was_funded = need.status == NeedStatus.FUNDED
    _save_totals(pledge, need)
    # ledger: 2 outgoing commitment, pledge → need (through FX between currencies)
    ledger.post_allocation_committed(allocation=allocation, pledge=pledge, need=need)
    events.record(
        events.allocation_event(
            EventType.ALLOCATION_COMMITTED, allocation, pledge=pledge, need=need
        ),
        events.need_event(EventType.NEED_FUNDED, need)
        if need.status == NeedStatus.FUNDED and not was_funded
        else None,
    )
    _audit("allocation.commit", allocation, A.PROPOSED)
    return allocation


def _audit(action: str, allocation: Allocation, before: str) -> None:
    audit_record(
        action=action,
        obj=allocation,
        before={"status": before},
        after={
            "status": allocation.status,
            "amount": allocation.amount,
            "need_amount": allocation.need_amount,
            "pledge": str(allocation.pledge_id),
            "need": str(allocation.need_id),
        },
        detail={"reason": allocation.close_reason} if allocation.close_reason else None,
    )


def _close(allocation: Allocation, pledge: Pledge, need: Need, target: A, reason: str) -> None:
    """Release or decline a locked proposal; its money returns to the pledge and the need."""
    check_transition("allocation", allocation.status, target)
    allocation.status = target
    allocation.closed_at = timezone.now()
    allocation.close_reason = reason[:200]
    allocation.save(update_fields=["status", "closed_at", "close_reason", "updated_at"])
    pledge.proposed_amount -= allocation.amount
    need.proposed_amount -= allocation.need_amount


@transaction.atomic
def allocation_decline(*, allocation_id, actor=None, reason: str = "declined by the donor"):
    allocation, pledge, need = _locked(allocation_id)
    if actor is not None and pledge.donor_id is not None and pledge.donor_id != actor.pk:
        raise NotPermitted(_("Only the donor of the pledge may decline its allocations."))
    if allocation.status != A.PROPOSED:
        check_transition("allocation", allocation.status, A.DECLINED)
    _close(allocation, pledge, need, A.DECLINED, reason)
    _save_totals(pledge, need)
    events.record(
        events.allocation_event(EventType.ALLOCATION_DECLINED, allocation, pledge=pledge, need=need)
    )
    _audit("allocation.decline", allocation, A.PROPOSED)
    request_matching(reason="a proposal was declined")
    return allocation


@transaction.atomic
def allocation_release(*, allocation_id, reason: str) -> Allocation:
    """Release a proposal (commit window over, pledge reduced, need changed)."""
    allocation, pledge, need = _locked(allocation_id)
    if allocation.status == A.PROPOSED:
        _close(allocation, pledge, need, A.RELEASED, reason)
        _save_totals(pledge, need)
        events.record(
            events.allocation_event(
                EventType.ALLOCATION_RELEASED, allocation, pledge=pledge, need=need
            )
        )
        _audit("allocation.release", allocation, A.PROPOSED)
    return allocation


def release_proposals(
    proposals, pledges: dict, needs: dict, *, reason: str, keep_within=None
) -> list[Allocation]:
    """Release locked proposals, newest first; with ``keep_within(pledge_or_need)`` stop as soon
    as it returns True. The caller holds the locks and saves the totals."""
    released = []
    for allocation in sorted(proposals, key=lambda a: (a.proposed_at, str(a.pk)), reverse=True):
        if allocation.status != A.PROPOSED:
            continue
        if keep_within is not None and keep_within():
            break
        _close(
            allocation, pledges[allocation.pledge_id], needs[allocation.need_id], A.RELEASED, reason
        )
        released.append(allocation)
    return released


def save_locked_totals(pledges: dict, needs: dict) -> None:
    for pledge in pledges.values():
        refresh_pledge_status(pledge)
        pledge.save(update_fields=["proposed_amount", "committed_amount", "status", "updated_at"])
    for need in needs.values():
        refresh_need_status(need)
        need.save(update_fields=["proposed_amount", "committed_amount", "status", "updated_at"])


def allocation_release_overdue(*, now=None) -> int:
    """Release proposals whose commit window has passed (a periodic task); their money returns
    to the pool for the next matching run."""
    now = now or timezone.now()
    overdue = Allocation.objects.filter(status=A.PROPOSED, commit_deadline__lt=now)
    count = 0
    for allocation_id in overdue.values_list("pk", flat=True):
        allocation = allocation_release(allocation_id=allocation_id, reason="commit window passed")
        count += allocation.status == A.RELEASED
    return count
