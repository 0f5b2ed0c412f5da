from django.db.models import Q, QuerySet

from apps.core.actors import is_api_key
from apps.organizations.access import is_verifier, member_org_ids
from apps.pledges.models import Pledge, PledgeSchedule


def pledges_visible_to(request) -> QuerySet[Pledge]:
    """A donor sees its own pledges (and its institution's); verifiers see all. Others' pledges
    appear only as sums in aggregates."""
    qs = Pledge.objects.select_related(
        "currency", "earmark_organization", "earmark_need"
    ).prefetch_related("earmark_sectors", "earmark_provinces")
    if is_verifier(request):
        return qs
    if is_api_key(request):
        return qs.filter(donor_organization_id=request.auth.organization_id)
    return qs.filter(Q(donor=request.user) | Q(donor_organization_id__in=member_org_ids(request)))


def schedules_visible_to(request) -> QuerySet[PledgeSchedule]:
    """Recurring pledges, by the same rule as pledges: the donor's own (and its institution's);
    verifiers see all."""
    qs = PledgeSchedule.objects.select_related("currency").prefetch_related(
        "earmark_sectors", "earmark_provinces"
    )
    if is_verifier(request):
        return qs
    if is_api_key(request):
        return qs.filter(donor_organization_id=request.auth.organization_id)
    return qs.filter(Q(donor=request.user) | Q(donor_organization_id__in=member_org_ids(request)))
