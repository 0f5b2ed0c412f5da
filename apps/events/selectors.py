"""Which events a caller may read (the feed), and as which audience it sees each."""

from django.db.models import Q, QuerySet

from aidmatch.events import Audience
from apps.core.actors import is_api_key
from apps.events.models import Event
from apps.events.services import audience_for
from apps.organizations.access import is_verifier, member_org_ids


def _for(audience: Audience) -> Q:
    return Q(audiences__contains=str(audience))


def events_visible_to(request) -> QuerySet[Event]:
    """The caller's own events, positioned ones only (the relay's order): everything for
    verifiers; a donor user's own; an organization's (its members and API keys) for its needs,
    allocations, tranches, reports and status, and a donor institution's donor events."""
    events = Event.objects.filter(position__isnull=False)
    if is_verifier(request):
        return events.filter(_for(Audience.VERIFIER))
    orgs = member_org_ids(request)
    mine = Q(organization_id__in=orgs) & _for(Audience.ORGANIZATION)
    mine |= Q(donor_organization_id__in=orgs) & _for(Audience.DONOR)
    if not is_api_key(request):
        mine |= Q(donor_id=request.user.pk) & _for(Audience.DONOR)
    return events.filter(mine) if orgs or not is_api_key(request) else events.none()


def audience_of(request, event: Event) -> Audience | None:
    """How the caller sees one of its events (``events_visible_to``)."""
    verifier = is_verifier(request)
    user_id = None if is_api_key(request) else request.user.pk
    for organization_id in [*sorted(member_org_ids(request), key=str), None]:
        audience = audience_for(
            event, user_id=user_id, organization_id=organization_id, verifier=verifier
        )
        if audience is not None:
            return audience
    return None
