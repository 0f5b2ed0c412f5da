from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet

from aidmatch.disbursing import DisbursementStatus, refunded_share
from aidmatch.money import minor_quantum
from apps.core.actors import is_api_key
from apps.disbursements.models import Disbursement, DisbursementLine, Refund
from apps.organizations.access import is_verifier, member_org_ids


def disbursements_visible_to(request) -> QuerySet[Disbursement]:
    """The donor's own tranches, the receiving organization's, or all for verifiers."""
    qs = Disbursement.objects.select_related(
        "currency", "received_currency", "organization"
    ).prefetch_related(
        Prefetch(
            "lines", queryset=DisbursementLine.objects.select_related("allocation__need__currency")
        ),
        Prefetch("refunds", queryset=Refund.objects.select_related("currency")),
    )
    if is_verifier(request):
        return qs
    orgs = member_org_ids(request)
    mine = Q(organization_id__in=orgs) | Q(donor_organization_id__in=orgs)
    if not is_api_key(request):
        mine |= Q(donor=request.user)
    return qs.filter(mine)


@dataclass(frozen=True, slots=True)
class ReceivedLine:
    """A line of a received tranche, in its need's currency: what arrived for the allocation
    (``gross``, the line's need amount) and the share of the tranche's refunds that gave it back."""

    allocation_id: object
    need_id: object
    gross: Decimal
    refunded: Decimal

    @property
    def net(self) -> Decimal:
        return self.gross - self.refunded


def received_lines(*, extra_refunded: dict | None = None, **filters) -> list[ReceivedLine]:
    """The lines of received tranches (``filters`` on DisbursementLine), each with its share of
    the tranche's refunds (``extra_refunded``: {tranche id: amount} not yet recorded, to ask
    "what if"). The one computation behind the funding page and the checks that spending never
    exceeds what was received."""
    extra_refunded = extra_refunded or {}
    rows = DisbursementLine.objects.filter(
        disbursement__status=DisbursementStatus.RECEIVED, **filters
    ).values_list(
        "allocation_id",
        "allocation__need_id",
        "need_amount",
        "allocation__need__currency__minor_unit",
        "disbursement_id",
        "disbursement__received_amount",
        "disbursement__refunded_amount",
    )
    out = []
    for allocation_id, need_id, gross, minor, tranche_id, received, refunded in rows:
        refunded = refunded + extra_refunded.get(tranche_id, Decimal(0))
        share = refunded_share(gross, received, refunded, minor_quantum(minor))
        out.append(ReceivedLine(allocation_id, need_id, gross, share))
    return out


def received_by_need(need_ids, *, extra_refunded: dict | None = None) -> dict:
    """{need id: money received net of refunds}, in each need's currency."""
    totals: dict = defaultdict(Decimal)
    for line in received_lines(extra_refunded=extra_refunded, allocation__need_id__in=need_ids):
        totals[line.need_id] += line.net
    return dict(totals)
