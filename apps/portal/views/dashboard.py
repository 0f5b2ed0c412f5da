"""The dashboard: the organization's needs by status with % funded, the proposals and
commitments it received (donors as the API shows them to it), and the tranches on their way."""

from aidmatch.lifecycle import AllocationStatus, DisbursementStatus, NeedStatus
from apps.disbursements.selectors import disbursements_visible_to
from apps.matching.api.serializers import AllocationSerializer
from apps.matching.selectors import allocations_visible_to
from apps.needs.api.serializers import NeedPublicSerializer
from apps.needs.selectors import needs_visible_to
from apps.portal import labels
from apps.portal.views.base import PortalView

A = AllocationStatus
SHOWN_ALLOCATIONS = (A.PROPOSED, A.COMMITTED, A.DISBURSING)
ON_THEIR_WAY = (DisbursementStatus.SCHEDULED, DisbursementStatus.SENT)
LIST_LIMIT = 50  # rows per table: the page stays small on a slow line


def percent_funded(need) -> str:
    """As the API shows it (NeedPublicSerializer.percent_funded)."""
    return NeedPublicSerializer().get_percent_funded(need)


def donors_as_shown(request, allocations) -> list:
    """Each allocation with its donor exactly as the API shows it to this caller."""
    shown = AllocationSerializer(context={"viewer_id": request.user.pk})
    return [(a, labels.donor_label(shown.get_donor(a))) for a in allocations]


class DashboardView(PortalView):
    def get(self, request):
        organization = self.organization
        needs = list(
            needs_visible_to(request)
            .filter(organization=organization)
            .prefetch_related(None)
            .order_by("-created_at")[: LIST_LIMIT * 4]
        )
        by_status = []
        for status in NeedStatus:
            rows = [(n, percent_funded(n)) for n in needs if n.status == status]
            if rows:
                by_status.append((status.value, labels.status_label(status.value), rows))
        allocations = (
            allocations_visible_to(request)
            .filter(need__organization=organization, status__in=SHOWN_ALLOCATIONS)
            .order_by("-proposed_at")[:LIST_LIMIT]
        )
        tranches = (
            disbursements_visible_to(request)
            .filter(organization=organization, status__in=ON_THEIR_WAY)
            .prefetch_related(None)
            .order_by("created_at")[:LIST_LIMIT]
        )
        return self.render(
            "portal/dashboard.html",
            {
                "needs_by_status": by_status,
                "allocations": donors_as_shown(request, allocations),
                "tranches": tranches,
            },
        )
