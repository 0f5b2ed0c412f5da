"""Writes for needs: create, edit, submit, approve, cancel, expire. Each one transaction."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop as _

from aidmatch.errors import InvalidTransition, NotPermitted, RuleViolation, StateConflict
from aidmatch.events import EventType
from aidmatch.lifecycle import NEED_FUNDABLE, NeedStatus, check_transition
from aidmatch.money import format_money
from apps.audit.services import audit_changes, audit_record, audit_snapshot
from apps.core import partner
from apps.core.dates import local_date, local_today
from apps.core.serializers import set_prefetched_list
from apps.events import payloads as events
from apps.matching.locks import lock_need_with_pledges, lock_needs
from apps.matching.services.allocations import (
    refresh_need_status,
    release_proposals,
    save_locked_totals,
)
from apps.matching.triggers import request_matching
from apps.needs.models import Need, NeedLineItem
from apps.organizations.models import OrganizationStatus

N = NeedStatus
# What may change once a verifier has approved a need: not its sector, place or currency,
# which the approval and every pledge's earmarks were judged on.
OPEN_EDITABLE = frozenset(
    {
        "title",
        "description",
        "location_detail",
        "beneficiaries_women",
        "beneficiaries_girls",
        "beneficiaries_men",
        "beneficiaries_boys",
        "urgency",
        "deadline",
        "amount",
    }
)
OPEN_STATES = frozenset({N.OPEN, N.PARTIALLY_FUNDED, N.FUNDED})


class PreconditionFailed(StateConflict):
    status = 412
    code = "precondition_failed"
    title = _("The need changed since you read it")


def _line_item_total(line_items) -> Decimal:
    return sum((li["unit_cost"] * li["quantity"] for li in line_items), Decimal(0))


def _replace_line_items(need: Need, line_items) -> None:
    need.line_items.all().delete()
    NeedLineItem.objects.bulk_create(
        NeedLineItem(
            need=need,
            position=i,
            description=li["description"],
            unit=li.get("unit", ""),
            unit_cost=li["unit_cost"],
            quantity=li["quantity"],
            amount=li["unit_cost"] * li["quantity"],
        )
        for i, li in enumerate(line_items, start=1)
    )


def _check_deadline(deadline: date, organization) -> None:
    """A deadline is a day in the organization's time zone: today's is still fine."""
    if deadline < local_today(organization):
        raise RuleViolation(
            _("The deadline is in the past."), errors={"deadline": [_("In the past.")]}
        )


@transaction.atomic
def need_create(*, organization, created_by=None, api_key=None, line_items=(), **fields) -> Need:
    """A draft need of ``organization``; with line items, the amount is their sum."""
    _check_deadline(fields["deadline"], organization)
    if line_items:
        fields["amount"] = _line_item_total(line_items)
    need = partner.save_with_reference(
        lambda: Need.objects.create(
            organization=organization, created_by=created_by, created_by_key=api_key, **fields
        ),
        reference=fields.get("external_reference"),
        constraints=REFERENCE_CONSTRAINTS,
        existing=lambda: _with_reference(organization.pk, fields["external_reference"]),
        what="need",
    )
    if line_items:
        _replace_line_items(need, line_items)
    audit_record(
        action="need.create",
        obj=need,
        after=audit_snapshot(need),
        detail={
            "line_items": len(line_items),
            **_confidential_named(fields),
            **partner.named(fields),
        },
    )
    return need


REFERENCE_CONSTRAINTS = ("need_reference_per_organization",)


def _with_reference(organization_id, reference: str, *, besides=None):
    """The id of the organization's need that has ``reference`` (``besides`` left out)."""
    mine = Need.objects.filter(organization_id=organization_id, external_reference=reference)
    if besides is not None:
        mine = mine.exclude(pk=besides)
    return mine.values_list("pk", flat=True).first()


def _confidential_named(fields) -> dict:
    """The confidential fields among ``fields``, by name only (never their values)."""
    names = sorted(n for n in fields if n == "location_detail")
    return {"confidential_fields_set": names} if names else {}


@transaction.atomic
def need_update(*, need_id, if_match: int | None = None, line_items=None, **changes) -> Need:
    """Edit a need. A draft changes freely; an approved need only in ``OPEN_EDITABLE``, and
    its amount never below what is committed (proposals above it are released). The
    organization's own ``metadata`` and ``external_reference`` change in any state."""
    own = {name: changes.pop(name) for name in partner.FIELDS if name in changes}
    need, pledges, proposals = lock_need_with_pledges(need_id)
    before = audit_snapshot(need)
    if if_match is not None and if_match != need.version:
        raise PreconditionFailed(
            _("The need is at version %(version)s, not %(if_match)s: read it again."),
            params={"version": need.version, "if_match": if_match},
        )
    if "deadline" in changes:
        _check_deadline(changes["deadline"], need.organization)
    if line_items is not None:
        changes["amount"] = _line_item_total(line_items) if line_items else changes.get("amount")
        if changes["amount"] is None:
            raise RuleViolation(
                _("Give an amount or line items."), errors={"amount": [_("Required.")]}
            )
    if need.status in OPEN_STATES:
        frozen = sorted(set(changes) - OPEN_EDITABLE)
        if frozen:
            raise StateConflict(
                _("An approved need's %(fields)s cannot change."),
                errors={name: [_("Cannot change after approval.")] for name in frozen},
                params={"fields": ", ".join(frozen)},
            )
    elif need.status not in (N.DRAFT, N.SUBMITTED) and (changes or line_items is not None):
        raise StateConflict(
            _("A %(status)s need cannot be edited."), params={"status": need.status}
        )
    released = []
    if "amount" in changes and changes["amount"] != need.amount:
        new_amount = changes["amount"]
        if new_amount < need.committed_amount:
            committed = format_money(need.committed_amount, need.currency)
            raise StateConflict(
                _("The amount cannot go below the %(committed)s already committed."),
                errors={"amount": [_("Must be at least %(committed)s.")]},
                params={"committed": committed},
            )
        released = release_proposals(
            proposals.values(),
            pledges,
            {need.pk: need},
            reason="need amount reduced",
            keep_within=lambda: need.committed_amount + need.proposed_amount <= new_amount,
        )
    for name, value in (changes | own).items():
        setattr(need, name, value)
    if line_items is not None:
        _replace_line_items(need, line_items)
        set_prefetched_list(need, "line_items", None)  # read anew if its event shows them
    save_locked_totals(pledges, {})
    was = need.status
    refresh_need_status(need)
    need.version = F("version") + 1
    partner.save_with_reference(
        need.save,
        reference=own.get("external_reference"),
        constraints=REFERENCE_CONSTRAINTS,
        existing=lambda: _with_reference(
            need.organization_id, own["external_reference"], besides=need.pk
        ),
        what="need",
    )
    organization = need.organization
    need.refresh_from_db()
    events.keep(need, organization=organization)
    events.record(
        events.allocation_events(EventType.ALLOCATION_RELEASED, released, pledges, {need.pk: need}),
        events.need_event(EventType.NEED_FUNDED, need)
        if need.status == N.FUNDED and was != N.FUNDED
        else None,
    )
    if need.status in NEED_FUNDABLE and "amount" in changes:
        request_matching(reason="need amount changed", need_ids=[need.pk])
    changed_before, changed_after = audit_changes(before, audit_snapshot(need))
    detail = {"line_items_replaced": line_items is not None}
    if "location_detail" in changes:
        detail["confidential_fields_changed"] = ["location_detail"]
    if own:
        detail["creator_fields_changed"] = sorted(own)
    audit_record(
        action="need.update", obj=need, before=changed_before, after=changed_after, detail=detail
    )
    return need


TRANSITION_EVENTS = {N.SUBMITTED: EventType.NEED_SUBMITTED, N.OPEN: EventType.NEED_APPROVED}


def _transition(need_id, target: N, action: str, **fields) -> Need:
    need = lock_needs([need_id], line_items=target in TRANSITION_EVENTS)[need_id]
    check_transition("need", need.status, target)
    before = {"status": need.status}
    need.status = target
    for name, value in fields.items():
        setattr(need, name, value)
    need.version = F("version") + 1
    need.save()
    organization = need.organization
    need.refresh_from_db()
    events.keep(need, organization=organization)
    if target in TRANSITION_EVENTS:
        events.record(events.need_event(TRANSITION_EVENTS[target], need))
    audit_record(
        action=action, obj=need, before=before, after=audit_snapshot(need, fields=["status"])
    )
    return need


@transaction.atomic
def need_submit(*, need_id) -> Need:
    return _transition(need_id, N.SUBMITTED, "need.submit", submitted_at=timezone.now())


@transaction.atomic
def need_approve(*, need_id, verifier) -> Need:
    """A verifier opens a submitted need for funding; only verified organizations' needs."""
    if not getattr(verifier, "is_verifier", False):
        raise NotPermitted(_("Only verifiers approve needs."))
    need = Need.objects.select_related("organization").get(pk=need_id)
    if need.status != N.SUBMITTED:
        raise InvalidTransition(_("need"), need.status, N.OPEN)
    if need.organization.status != OrganizationStatus.VERIFIED:
        raise RuleViolation(
            _("Only needs of verified organizations can be approved; this one is %(status)s."),
            params={"status": need.organization.status},
        )
    _check_deadline(need.deadline, need.organization)
    request_matching(reason="need approved", need_ids=[need_id])
    return _transition(
        need_id, N.OPEN, "need.approve", approved_at=timezone.now(), approved_by=verifier
    )


@transaction.atomic
def need_return_to_draft(*, need_id) -> Need:
    return _transition(need_id, N.DRAFT, "need.return_to_draft")


def _close_need(need_id, target: N, reason: str) -> Need:
    need, pledges, proposals = lock_need_with_pledges(need_id)
    check_transition("need", need.status, target)
    if target == N.CANCELLED and need.committed_amount > 0:
        raise StateConflict(
            _(
                "Money is already committed to this need; it cannot be cancelled. "
                "Report on it, or ask a verifier to help return the money."
            )
        )
    released = release_proposals(proposals.values(), pledges, {need.pk: need}, reason=reason)
    save_locked_totals(pledges, {})
    before = {"status": need.status}
    need.status = target
    need.version = F("version") + 1
    need.save()
    organization = need.organization
    need.refresh_from_db()
    events.keep(need, organization=organization)
    events.record(
        events.allocation_events(
            EventType.ALLOCATION_RELEASED, released or (), pledges, {need.pk: need}
        ),
        events.need_event(EventType.NEED_CANCELLED, need) if target == N.CANCELLED else None,
    )
    audit_record(
        action="need.cancel" if target == N.CANCELLED else "need.expire",
        obj=need,
        before=before,
        after={"status": need.status},
        detail={"released_proposals": len(released or ())},
    )
    return need


@transaction.atomic
def need_cancel(*, need_id) -> Need:
    return _close_need(need_id, N.CANCELLED, "need cancelled")


def need_expire_overdue(*, now: datetime | None = None, today: date | None = None) -> int:
    """Expire fundable needs whose deadline day has ended in their organization's time zone
    (a periodic task). ``today`` puts every organization on one given day instead."""
    now = now or timezone.now()
    # No time zone is a whole day ahead of UTC: a need due before tomorrow (UTC) may be over.
    horizon = today or now.date() + timedelta(days=1)
    due = Need.objects.filter(status__in=NEED_FUNDABLE, deadline__lt=horizon).values_list(
        "pk", "organization__time_zone"
    )
    count = 0
    for need_id, time_zone in due:
        day = today or local_date(time_zone, now=now)
        with transaction.atomic():
            need = Need.objects.get(pk=need_id)
            if need.status in NEED_FUNDABLE and need.deadline < day:
                _close_need(need_id, N.EXPIRED, "need expired")
                count += 1
    return count
