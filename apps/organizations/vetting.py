"""Vetting: verifiers verify, reject, suspend and reinstate organizations, with a reason.

Suspending releases the organization's uncommitted proposals (its needs stop being matched)
and blocks new tranches to it; tranches already sent keep being tracked. A sanctions screening
hit (apps/screening) freezes an organization the same way, through organization_transition.
"""

from django.db import transaction
from django.utils.translation import gettext_noop as _

from aidmatch.errors import NotPermitted, RuleViolation, StateConflict
from aidmatch.events import EventType
from aidmatch.lifecycle import NEED_FUNDABLE, OrganizationStatus, check_transition
from apps.audit.services import audit_record
from apps.events import payloads as events
from apps.matching.locks import lock_needs_with_pledges
from apps.matching.services.allocations import release_proposals, save_locked_totals
from apps.matching.triggers import request_matching
from apps.needs.models import Need
from apps.organizations.models import Organization, VettingDecision

OS = OrganizationStatus
ACTIONS = {
    "verify": OS.VERIFIED,
    "reject": OS.REJECTED,
    "suspend": OS.SUSPENDED,
    "reinstate": OS.VERIFIED,
}
FROM = {"reinstate": {OS.SUSPENDED}, "suspend": {OS.VERIFIED}}


@transaction.atomic
def organization_vet(*, organization_id, action: str, verifier, reason: str) -> Organization:
    if not getattr(verifier, "is_verifier", False):
        raise NotPermitted(_("Only verifiers vet organizations."))
    if not reason.strip():
        raise RuleViolation(_("Give a reason."), errors={"reason": [_("Required.")]})
    return organization_transition(
        organization_id=organization_id,
        action=action,
        target=ACTIONS[action],
        actor=verifier,
        reason=reason,
        allowed_from=FROM.get(action),
    )


# Statuses in which an organization's needs are not matched: its uncommitted proposals go.
FROZEN = frozenset({OS.SUSPENDED, OS.REJECTED, OS.SCREENING})


def organization_transition(
    *, organization_id, action: str, target: str, actor, reason: str, allowed_from=None
) -> Organization:
    """Move an organization to ``target`` and record the decision; entering a frozen status
    (suspended, rejected, or screening after a sanctions hit) releases its uncommitted
    proposals, and stops its recurring pledges if it gives as a donor institution (first:
    the schedules' locks come before the organization's, as when an occurrence is made).
    Shared by vetting and sanctions screening. Call inside a transaction."""
    if target in FROZEN:
        from apps.pledges.schedules import schedules_stop_for_donor_organization

        schedules_stop_for_donor_organization(organization_id=organization_id, reason=target)
    need_ids = list(
        Need.objects.filter(organization_id=organization_id, status__in=NEED_FUNDABLE).values_list(
            "pk", flat=True
        )
    )
    needs, pledges, proposals = lock_needs_with_pledges(need_ids) if need_ids else ({}, {}, {})
    organization = (
        Organization.objects.select_related("province")
        .select_for_update(no_key=True, of=("self",))
        .get(pk=organization_id)
    )
    before = organization.status
    if allowed_from and before not in allowed_from:
        raise StateConflict(
            _("A %(status)s organization cannot be %(action)sed."),
            params={"status": before, "action": action},
        )
    if target == OS.VERIFIED and organization.screening_hits.filter(resolution="").exists():
        raise StateConflict(
            _("Open sanctions screening hits must be cleared before the organization is verified.")
        )
    check_transition("organization", before, target)
    released_rows = []
    if target in FROZEN and proposals:
        released_rows = release_proposals(
            proposals.values(), pledges, needs, reason=f"organization {target}: {reason}"
        )
        save_locked_totals(pledges, needs)
    released = len(released_rows)
    organization.status = target
    organization.save(update_fields=["status", "updated_at"])
    event_type = _event_type(action, before, target)
    events.record(
        events.allocation_events(EventType.ALLOCATION_RELEASED, released_rows, pledges, needs),
        events.organization_event(event_type, organization) if event_type else None,
    )
    if target == OS.VERIFIED or released:
        request_matching(reason=f"organization {action}")
    decision = VettingDecision.objects.create(
        organization=organization,
        action=action,
        from_status=before,
        to_status=target,
        reason=reason,
        decided_by=actor,
        released_proposals=released,
    )
    audit_record(
        action=f"organization.{action}",
        obj=organization,
        before={"status": before},
        after={"status": target},
        detail={"reason": reason, "decision": decision.pk, "released_proposals": released},
    )
    return organization


def _event_type(action: str, before: str, target: str) -> EventType | None:
    """What partners hear: verified (a first verification), suspended (by a verifier, or
    frozen by a sanctions screening hit), reinstated (after a suspension or a cleared hit)."""
    if target == OS.VERIFIED and before != OS.VERIFIED:
        return (
            EventType.ORGANIZATION_VERIFIED
            if action == "verify"
            else EventType.ORGANIZATION_REINSTATED
        )
    if target in (OS.SUSPENDED, OS.SCREENING) and before == OS.VERIFIED:
        return EventType.ORGANIZATION_SUSPENDED
    return None
