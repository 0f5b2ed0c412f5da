from django.db.models import Prefetch, Q, QuerySet

from apps.core.actors import is_api_key
from apps.disbursements.models import Disbursement, DisbursementLine
from apps.organizations.access import is_verifier, member_org_ids


def disbursements_visible_to(request) -> QuerySet[Disbursement]:
    """The donor's own tranches, the receiving organization's, or all for verifiers."""
    qs = Disbursement.objects.select_related(
        "currency", "received_currency", "organization"
    ).prefetch_related(
        Prefetch(
            "lines", queryset=DisbursementLine.objects.select_related("allocation__need__currency")
        )
    )
    if is_verifier(request):
        return qs
    orgs = member_org_ids(request)
    mine = Q(organization_id__in=orgs) | Q(donor_organization_id__in=orgs)
    if not is_api_key(request):
        mine |= Q(donor=request.user)
    return qs.filter(mine)
