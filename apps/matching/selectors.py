from django.db.models import Q, QuerySet

from apps.core.actors import is_api_key
from apps.matching.models import Allocation
from apps.organizations.access import is_verifier, member_org_ids


def allocations_visible_to(request) -> QuerySet[Allocation]:
    """Donors see their pledges' allocations; organizations their needs'; verifiers all."""
    qs = Allocation.objects.select_related(
        "pledge__currency", "pledge__donor", "need__currency", "need__organization"
    )
    if is_verifier(request):
        return qs
    orgs = member_org_ids(request)
    if is_api_key(request):
        return qs.filter(
            Q(need__organization_id__in=orgs) | Q(pledge__donor_organization_id__in=orgs)
        )
    return qs.filter(
        Q(pledge__donor=request.user)
        | Q(pledge__donor_organization_id__in=orgs)
        | Q(need__organization_id__in=orgs)
    )
