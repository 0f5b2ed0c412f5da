from django.db.models import Prefetch, Q, QuerySet

from aidmatch.lifecycle import ALLOCATION_COMMITTED
from apps.core.actors import is_api_key
from apps.organizations.access import is_verifier, member_org_ids
from apps.reports.models import DeliveryReport, EvidenceFile


def reports_visible_to(request) -> QuerySet[DeliveryReport]:
    """The organization's own reports; reports on needs a donor's pledges committed to; all
    for verifiers."""
    qs = DeliveryReport.objects.select_related(
        "need__organization", "need__currency"
    ).prefetch_related(
        "items__line_item",
        Prefetch("evidence", queryset=EvidenceFile.objects.defer("blob")),  # not the contents
    )
    if is_verifier(request):
        return qs
    orgs = member_org_ids(request)
    visible = Q(need__organization_id__in=orgs)
    funded = Q(need__allocations__status__in=ALLOCATION_COMMITTED)
    if is_api_key(request):
        visible |= funded & Q(need__allocations__pledge__donor_organization_id__in=orgs)
    else:
        visible |= funded & (
            Q(need__allocations__pledge__donor=request.user)
            | Q(need__allocations__pledge__donor_organization_id__in=orgs)
        )
    return qs.filter(visible).distinct()


def is_reporting_member(request, report_or_need) -> bool:
    organization_id = (
        getattr(report_or_need, "organization_id", None) or report_or_need.need.organization_id
    )
    return is_verifier(request) or organization_id in member_org_ids(request)
