"""Tranches: schedule, mark sent, confirm receipt, mark failed or returned, record a refund.
Each one transaction, under row locks in the global order (pledges, needs, allocations, then the
tranche), keeping the cached totals of allocations, pledges and needs with it. Who may do what
in which state is one table, ``aidmatch.lifecycle.TRANCHE_TRANSITIONS``, checked under the
tranche's lock."""

import logging
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as _

from aidmatch.disbursing import OUT, DisbursementStatus, spread
from aidmatch.errors import NotPermitted, RuleViolation, StateConflict
from aidmatch.events import EventType
from aidmatch.lifecycle import (
    AllocationStatus,
    TrancheAction,
    TrancheParty,
    check_tranche_action,
    check_transition,
)
from aidmatch.money import amount_text, format_money
from apps.audit.services import audit_record, audit_snapshot
from apps.core import partner
from apps.core.dates import local_today
from apps.disbursements.models import Disbursement, DisbursementLine, Refund
from apps.disbursements.notifications import notify_unconfirmed
from apps.disbursements.selectors import received_by_need
from apps.events import payloads as events
from apps.ledger import services as ledger
from apps.matching.locks import lock_allocations, lock_needs, lock_pledges
from apps.matching.models import Allocation
from apps.matching.services.allocations import refresh_need_status, refresh_pledge_status
from apps.matching.triggers import request_matching
from apps.organizations.models import OrganizationStatus
from apps.reports.services import need_complete_if_done, spent_by_need

logger = logging.getLogger(__name__)
D = DisbursementStatus
A = AllocationStatus
TA, TP = TrancheAction, TrancheParty
OWING = (A.COMMITTED, A.DISBURSING)


def _quantum(currency) -> Decimal:
    return Decimal(1).scaleb(-currency.minor_unit)


def _lock_for(allocation_ids):
    """Lock the allocations' pledges, needs and the allocations, in the global order."""
    rows = list(Allocation.objects.filter(pk__in=allocation_ids).values("pledge_id", "need_id"))
    pledges = lock_pledges(r["pledge_id"] for r in rows)
    needs = lock_needs(r["need_id"] for r in rows)
    allocations = lock_allocations(allocation_ids)
    return pledges, needs, allocations


def _is_donor(actor, pledge) -> bool:
    return (pledge.donor_id is not None and pledge.donor_id == getattr(actor, "pk", None)) or (
        pledge.donor_organization_id is not None
        and pledge.donor_organization_id == getattr(actor, "organization_id", None)
    )


def _parties(actor, acting_for, disbursement, pledges) -> set[TrancheParty]:
    """Who the caller is to this tranche: its donor, the receiving organization, a verifier."""
    parties = set()
    if any(_is_donor(actor, p) for p in pledges.values()):
        parties.add(TP.DONOR)
    if disbursement.organization_id in (acting_for or ()):
        parties.add(TP.ORGANIZATION)
    if getattr(actor, "is_verifier", False):
        parties.add(TP.VERIFIER)
    return parties


def _authorize(action, actor, acting_for, disbursement, pledges) -> DisbursementStatus:
    return check_tranche_action(
        disbursement.status, action, _parties(actor, acting_for, disbursement, pledges)
    )


@transaction.atomic
def disbursement_create(
    *,
    actor,
    allocation_ids,
    amount: Decimal,
    currency,
    channel: str,
    provider: str = "",
    reference: str = "",
    planned_date=None,
    fee_amount: Decimal = Decimal(0),
    metadata: dict | None = None,
    external_reference: str | None = None,
) -> Disbursement:
    """Schedule a tranche over one donor's committed allocations to one organization; the
    amount is spread over them oldest first and may not exceed what they still owe."""
    allocation_ids = list(dict.fromkeys(allocation_ids))
    pledges, needs, allocations = _lock_for(allocation_ids)
    if len(allocations) != len(allocation_ids):
        raise RuleViolation(
            _("Unknown allocation."), errors={"allocations": [_("Unknown allocation.")]}
        )
    rows = sorted(allocations.values(), key=lambda a: (a.committed_at or a.proposed_at, str(a.pk)))
    organizations = {needs[a.need_id].organization_id for a in rows}
    if len(organizations) != 1:
        raise RuleViolation(
            _("A tranche goes to one organization: these allocations fund several."),
            errors={"allocations": [_("All allocations must fund needs of one organization.")]},
        )
    for a in rows:
        pledge = pledges[a.pledge_id]
        if not _is_donor(actor, pledge):
            raise NotPermitted(_("Only the donor of these allocations can send them money."))
        if a.status not in OWING:
            raise StateConflict(
                _("Allocation %(allocation)s is %(status)s; only committed money is sent."),
                params={"allocation": a.pk, "status": a.status},
            )
        if pledge.currency_id != currency.code:
            raise RuleViolation(
                _("Allocation %(allocation)s is in %(currency)s, not %(requested)s."),
                errors={"currency": [_("These allocations are in %(currency)s.")]},
                params={
                    "allocation": a.pk,
                    "currency": pledge.currency_id,
                    "requested": currency.code,
                },
            )
    organization = needs[rows[0].need_id].organization
    if organization.status != OrganizationStatus.VERIFIED:
        raise StateConflict(
            _("The organization is %(status)s: no new tranches can be sent to it."),
            params={"status": organization.status},
        )
    if fee_amount >= amount:
        raise RuleViolation(
            _("The fee must be less than the amount."), errors={"fee_amount": [_("Too high.")]}
        )
    owed = [(a.pk, a.amount - a.disbursed_amount) for a in rows]
    lines = spread(amount, owed, currency)
    pledge = pledges[rows[0].pledge_id]
    disbursement = partner.save_with_reference(
        lambda: Disbursement.objects.create(
            donor=pledge.donor,
            donor_organization=pledge.donor_organization,
            organization=organization,
            amount=amount,
            currency=currency,
            fee_amount=fee_amount,
            channel=channel,
            provider=provider,
            reference=reference,
            planned_date=planned_date,
            created_by=actor if getattr(actor, "pk", None) else None,
            metadata=metadata or {},
            external_reference=external_reference,
        ),
        reference=external_reference,
        constraints=REFERENCE_CONSTRAINTS,
        existing=lambda: _with_reference(
            pledge.donor_id, pledge.donor_organization_id, external_reference
        ),
        what="tranche",
    )
    created = []
    for allocation_id, line_amount in lines:
        allocation = allocations[allocation_id]
        need = needs[allocation.need_id]
        need_amount = (line_amount * allocation.rate).quantize(
            _quantum(need.currency), rounding=ROUND_DOWN
        )
        line = DisbursementLine.objects.create(
            disbursement=disbursement,
            allocation=allocation,
            amount=line_amount,
            need_amount=min(need_amount, allocation.need_amount),
        )
        allocation.disbursed_amount += line_amount
        check_transition("allocation", allocation.status, A.DISBURSING)
        allocation.status = A.DISBURSING
        allocation.save(update_fields=["disbursed_amount", "status", "updated_at"])
        created.append(line)
    _event(EventType.DISBURSEMENT_SCHEDULED, disbursement, created, allocations, needs, [])
    audit_record(
        action="disbursement.create",
        obj=disbursement,
        after=audit_snapshot(disbursement),
        detail={
            "allocations": [str(a) for a, _ in lines],
            **partner.named({"metadata": metadata, "external_reference": external_reference}),
        },
    )
    return disbursement


REFERENCE_CONSTRAINTS = (
    "disbursement_reference_per_donor",
    "disbursement_reference_per_donor_organization",
)


def _with_reference(donor_id, donor_organization_id, reference: str, *, besides=None):
    """The id of the donor's tranche that has ``reference`` (``besides`` left out)."""
    if donor_id is not None:
        mine = Disbursement.objects.filter(donor_id=donor_id)
    else:
        mine = Disbursement.objects.filter(donor_organization_id=donor_organization_id)
    if besides is not None:
        mine = mine.exclude(pk=besides)
    return mine.filter(external_reference=reference).values_list("pk", flat=True).first()


@transaction.atomic
def disbursement_set_partner_fields(
    *, disbursement_id, actor, acting_for=(), **fields
) -> Disbursement:
    """Set the donor's own ``metadata`` and/or ``external_reference`` on its tranche, in any
    state; only the donor's side (which schedules tranches) may. A reference the donor already
    used is a 409 naming that tranche."""
    disbursement = Disbursement.objects.select_for_update(no_key=True).get(pk=disbursement_id)
    donor_side = (
        disbursement.donor_id is not None and disbursement.donor_id == getattr(actor, "pk", None)
    ) or (
        disbursement.donor_organization_id is not None
        and disbursement.donor_organization_id in (acting_for or ())
    )
    if not donor_side:
        raise NotPermitted(_("Only the tranche's donor may change its own fields."))
    changed = partner.set_fields(
        disbursement,
        fields,
        constraints=REFERENCE_CONSTRAINTS,
        existing=lambda: _with_reference(
            disbursement.donor_id,
            disbursement.donor_organization_id,
            disbursement.external_reference,
            besides=disbursement.pk,
        ),
        what="tranche",
    )
    if not changed:
        return disbursement
    audit_record(
        action="disbursement.annotate",
        obj=disbursement,
        detail={"creator_fields_changed": changed},
    )
    return disbursement


def _event(event_type, disbursement, lines, allocations, needs, refunds=None) -> None:
    """The tranche's event, from the rows this write holds (``refunds`` when known: a tranche
    not yet received has none)."""
    for need in needs.values():
        if need.currency_id == disbursement.currency_id:
            events.keep(need, currency=disbursement.currency)
    if refunds is not None:
        events.set_prefetched(disbursement, "refunds", refunds)
    events.record(
        events.disbursement_event(
            event_type, disbursement, lines=lines, allocations=allocations, needs=needs
        )
    )


def _record(action: str, disbursement: Disbursement, before_status: str, **detail) -> None:
    audit_record(
        action=action,
        obj=disbursement,
        before={"status": before_status},
        after=audit_snapshot(
            disbursement,
            fields=[
                "status",
                "value_date",
                "received_amount",
                "received_currency",
                "received_date",
                "expected_received_amount",
                "difference_reason",
                "failure_reason",
            ],
        ),
        detail=detail,
    )


def _locked_tranche(disbursement_id):
    allocation_ids = list(
        DisbursementLine.objects.filter(disbursement_id=disbursement_id).values_list(
            "allocation_id", flat=True
        )
    )
    pledges, needs, allocations = _lock_for(allocation_ids)
    disbursement = (
        # Only the tranche's row: a lock without OF would take its currency and organization
        # too, and every insert naming that currency waits on it at commit (its deferred
        # foreign-key check), while holding the audit chain's lock: a deadlock (bench/chaos.py).
        Disbursement.objects.select_for_update(no_key=True, of=("self",))
        .select_related("currency", "organization")
        .get(pk=disbursement_id)
    )
    lines = list(disbursement.lines.all())
    return disbursement, lines, pledges, needs, allocations


def _move_out(lines, pledges, needs, allocations, sign: int) -> None:
    """Add (sign=1) or take back (sign=-1) the tranche's money on its pledges and needs."""
    for line in lines:
        allocation = allocations[line.allocation_id]
        pledge, need = pledges[allocation.pledge_id], needs[allocation.need_id]
        pledge.disbursed_amount += sign * line.amount
        need.disbursed_amount += sign * line.need_amount
    for pledge in pledges.values():
        refresh_pledge_status(pledge)
        pledge.save(update_fields=["disbursed_amount", "status", "updated_at"])
    for need in needs.values():
        refresh_need_status(need)
        need.save(update_fields=["disbursed_amount", "status", "updated_at"])


@transaction.atomic
def disbursement_mark_sent(
    *, disbursement_id, actor, acting_for=frozenset(), value_date=None
) -> Disbursement:
    disbursement, lines, pledges, needs, allocations = _locked_tranche(disbursement_id)
    target = _authorize(TA.MARK_SENT, actor, acting_for, disbursement, pledges)
    before_status = disbursement.status
    disbursement.status = target
    disbursement.sent_at = timezone.now()
    disbursement.value_date = value_date or local_today(disbursement.organization)
    disbursement.save(update_fields=["status", "sent_at", "value_date", "updated_at"])
    _move_out(lines, pledges, needs, allocations, +1)
    ledger.post_disbursement_sent(disbursement=disbursement)
    _event(EventType.DISBURSEMENT_SENT, disbursement, lines, allocations, needs, [])
    _record("disbursement.mark_sent", disbursement, before_status)
    return disbursement


def expected_received(disbursement: Disbursement, lines) -> Decimal:
    """What the organization should receive in its needs' currency: the lines' need amounts
    less the fee's share, rounded down."""
    gross = sum((line.need_amount for line in lines), Decimal(0))
    kept = (disbursement.amount - disbursement.fee_amount) / disbursement.amount
    return gross * kept


@transaction.atomic
def disbursement_confirm_receipt(
    *,
    disbursement_id,
    acting_for: set,
    actor=None,
    received_amount: Decimal,
    received_currency,
    received_date=None,
    difference_reason: str = "",
) -> Disbursement:
    """The receiving organization (``acting_for``: the organizations the caller acts for)
    confirms what arrived, in its currency. A difference from the expected amount (fees,
    exchange) is recorded with its reason."""
    disbursement, lines, pledges, needs, allocations = _locked_tranche(disbursement_id)
    target = _authorize(TA.CONFIRM_RECEIPT, actor, acting_for, disbursement, pledges)
    need_currencies = {needs[allocations[line.allocation_id].need_id].currency_id for line in lines}
    expected = None
    if need_currencies == {received_currency.code}:
        expected = expected_received(disbursement, lines).quantize(
            _quantum(received_currency), rounding=ROUND_DOWN
        )
        if received_amount != expected and not difference_reason.strip():
            raise RuleViolation(
                _("Expected %(expected)s after the fee; say why the received amount differs."),
                errors={"difference_reason": [_("Required when the amount differs.")]},
                params={"expected": format_money(expected, received_currency)},
            )
    today = local_today(disbursement.organization)
    if received_date and received_date > today:
        raise RuleViolation(
            _FUTURE,
            errors={"received_date": [_("Future.")]},
            params=_today(today, disbursement.organization),
        )
    before_status = disbursement.status
    disbursement.status = target
    disbursement.received_amount = received_amount
    disbursement.received_currency = received_currency
    disbursement.received_date = received_date or today
    disbursement.expected_received_amount = expected
    disbursement.difference_reason = difference_reason
    disbursement.received_at = timezone.now()
    disbursement.save()
    ledger.post_disbursement_received(disbursement=disbursement)
    for line in lines:
        allocation = allocations[line.allocation_id]
        received = _received_total(allocation)
        if received >= allocation.amount and allocation.status == A.DISBURSING:
            allocation.status = A.DISBURSED
            allocation.save(update_fields=["status", "updated_at"])
    _event(EventType.DISBURSEMENT_RECEIVED, disbursement, lines, allocations, needs, [])
    _record("disbursement.confirm_receipt", disbursement, before_status)
    for need in needs.values():
        need_complete_if_done(need)
    return disbursement


def _received_total(allocation) -> Decimal:
    return sum(
        (
            line.amount
            for line in allocation.disbursement_lines.filter(disbursement__status=D.RECEIVED)
        ),
        Decimal(0),
    )


def _give_back(disbursement_id, actor, acting_for, action: TrancheAction, reason: str):
    disbursement, lines, pledges, needs, allocations = _locked_tranche(disbursement_id)
    target = _authorize(action, actor, acting_for, disbursement, pledges)
    was_out = disbursement.status in OUT
    before_status = disbursement.status
    disbursement.status = target
    disbursement.failure_reason = reason[:500]
    disbursement.closed_at = timezone.now()
    disbursement.save(update_fields=["status", "failure_reason", "closed_at", "updated_at"])
    for line in lines:
        allocation = allocations[line.allocation_id]
        allocation.disbursed_amount -= line.amount
        target_status = A.DISBURSING if allocation.disbursed_amount > 0 else A.COMMITTED
        check_transition("allocation", allocation.status, target_status)
        allocation.status = target_status
        allocation.save(update_fields=["disbursed_amount", "status", "updated_at"])
    if was_out:
        _move_out(lines, pledges, needs, allocations, -1)
        ledger.post_disbursement_given_back(disbursement=disbursement, reason=reason)
    request_matching(reason=f"tranche {target}")
    action = "disbursement.mark_failed" if target == D.FAILED else "disbursement.mark_returned"
    event_type = (
        EventType.DISBURSEMENT_FAILED if target == D.FAILED else EventType.DISBURSEMENT_RETURNED
    )
    _event(event_type, disbursement, lines, allocations, needs, [])
    _record(action, disbursement, before_status)
    return disbursement


@transaction.atomic
def disbursement_mark_failed(
    *, disbursement_id, actor, acting_for=frozenset(), reason: str
) -> Disbursement:
    return _give_back(disbursement_id, actor, acting_for, TA.MARK_FAILED, reason)


@transaction.atomic
def disbursement_mark_returned(
    *, disbursement_id, actor, acting_for=frozenset(), reason: str
) -> Disbursement:
    """Money sent that came back before the organization confirmed it. A received tranche is
    never returned (409): money given back after receipt is a refund."""
    return _give_back(disbursement_id, actor, acting_for, TA.MARK_RETURNED, reason)


@transaction.atomic
def disbursement_refund(
    *,
    disbursement_id,
    actor,
    acting_for,
    amount: Decimal,
    currency,
    reason: str,
    refund_date=None,
) -> Refund:
    """The receiving organization records money it gave back after receipt, in the currency it
    received. At most what it received less what it already refunded, and never so much that a
    need's money received (net of refunds) would fall below what its reports say was spent."""
    disbursement, lines, pledges, needs, allocations = _locked_tranche(disbursement_id)
    _authorize(TA.REFUND, actor, acting_for, disbursement, pledges)
    received_cur = disbursement.received_currency
    if currency.code != received_cur.code:
        raise RuleViolation(
            _("A refund is in the currency received, %(currency)s."),
            errors={"currency": [_("This tranche was received in %(currency)s.")]},
            params={"currency": received_cur.code},
        )
    left = disbursement.received_amount - disbursement.refunded_amount
    if amount > left:
        raise RuleViolation(
            _(
                "At most %(left)s can be refunded: %(received)s received, %(refunded)s already "
                "refunded."
            ),
            errors={"amount": [_("At most %(left_amount)s.")]},
            params={
                "left": format_money(left, received_cur),
                "received": amount_text(disbursement.received_amount, received_cur.minor_unit),
                "refunded": amount_text(disbursement.refunded_amount, received_cur.minor_unit),
                "left_amount": amount_text(left, received_cur.minor_unit),
            },
        )
    today = local_today(disbursement.organization)
    refund_date = refund_date or today
    if refund_date > today:
        raise RuleViolation(
            _FUTURE,
            errors={"refund_date": [_("Future.")]},
            params=_today(today, disbursement.organization),
        )
    if disbursement.received_date and refund_date < disbursement.received_date:
        raise RuleViolation(
            _("The money was received on %(received_date)s, after this date."),
            errors={"refund_date": [_("Before the receipt.")]},
            params={"received_date": disbursement.received_date},
        )
    need_ids = list(needs)
    after = received_by_need(need_ids, extra_refunded={disbursement.pk: amount})
    spent = spent_by_need(need_ids)
    for need_id in sorted(need_ids, key=str):
        need = needs[need_id]
        net, used = after.get(need_id, Decimal(0)), spent.get(need_id, Decimal(0))
        if used > net:
            raise RuleViolation(
                _(
                    "Need %(need)s would have %(net)s received net of refunds, less than the "
                    "%(spent)s its reports say was spent."
                ),
                errors={"amount": [_("More than what was received and not yet spent.")]},
                params={
                    "need": need_id,
                    "net": format_money(net, need.currency),
                    "spent": format_money(used, need.currency),
                },
            )
    refund = Refund.objects.create(
        disbursement=disbursement,
        amount=amount,
        currency=currency,
        reason=reason,
        refund_date=refund_date,
        created_by=actor if getattr(actor, "pk", None) else None,  # None for an API key
    )
    disbursement.refunded_amount += amount
    disbursement.save(update_fields=["refunded_amount", "updated_at"])
    ledger.post_refund_recorded(refund=refund, disbursement=disbursement)
    _event(EventType.DISBURSEMENT_REFUNDED, disbursement, lines, allocations, needs)
    audit_record(
        action="disbursement.refund",
        obj=disbursement,
        after={"refunded_amount": disbursement.refunded_amount},
        detail={
            "refund": str(refund.pk),
            "amount": str(amount),
            "currency": currency.code,
            "refund_date": str(refund_date),
        },
    )
    return refund


_FUTURE = _("The date is in the future (today is %(today)s in %(time_zone)s).")


def _today(today, organization) -> dict[str, object]:
    return {"today": today, "time_zone": organization.time_zone}


def disbursement_flag_unconfirmed(*, now=None) -> int:
    """Flag tranches sent but unconfirmed for DISBURSEMENT_CONFIRM_DAYS (a periodic task)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.DISBURSEMENT_CONFIRM_DAYS)
    due = Disbursement.objects.filter(
        status=D.SENT, sent_at__lt=cutoff, flagged_unconfirmed_at__isnull=True
    )
    flagged = 0
    for disbursement in due.select_related("organization", "donor"):
        with transaction.atomic():
            updated = Disbursement.objects.filter(
                pk=disbursement.pk, flagged_unconfirmed_at__isnull=True
            ).update(flagged_unconfirmed_at=now)
            if updated:
                audit_record(
                    action="disbursement.flag_unconfirmed",
                    obj=disbursement,
                    after={"flagged_unconfirmed_at": now},
                )
        if updated:
            flagged += 1
            logger.warning(
                "tranche %s to organization %s sent %s is not confirmed",
                disbursement.pk,
                disbursement.organization_id,
                disbursement.sent_at.date(),
            )
            notify_unconfirmed(disbursement)  # flagged once here, so notified once
    return flagged
