from django.db.models import Q, QuerySet

from apps.core.actors import is_api_key
from apps.disbursements.models import Disbursement
from apps.organizations.access import is_verifier, member_org_ids


def disbursements_visible_to(request) -> QuerySet[Disbursement]:
    """The donor's own tranches, the receiving organization's, or all for verifiers."""
    qs = Disbursement.objects.select_related(
        "currency", "received_currency", "organization"
    ).prefetch_related("lines")
    if is_verifier(request):
        return qs
    orgs = member_org_ids(request)
    mine = Q(organization_id__in=orgs) | Q(donor_organization_id__in=orgs)
    if not is_api_key(request):
        mine |= Q(donor=request.user)
    return qs.filter(mine)
