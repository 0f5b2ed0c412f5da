"""An organization's money, for its members and verifiers: expected (committed), received and
spent, by donor ("anonymous donor" when asked) and by need, each in the need's currency."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum

from aidmatch.disbursing import DisbursementStatus
from aidmatch.lifecycle import ALLOCATION_COMMITTED
from apps.core.money import money_str
from apps.disbursements.models import DisbursementLine
from apps.matching.models import Allocation
from apps.reports.models import DeliveryReport


def _donor_label(pledge) -> str:
    if pledge.anonymous:
        return "anonymous donor"
    if pledge.donor is not None:
        return pledge.donor.full_name or "donor"
    return pledge.donor_organization.public_name() if pledge.donor_organization else "donor"


def organization_funding(organization) -> dict:
    allocations = Allocation.objects.filter(
        need__organization=organization, status__in=ALLOCATION_COMMITTED
    ).select_related("need__currency", "pledge__donor", "pledge__donor_organization")
    received = dict(
        DisbursementLine.objects.filter(
            allocation__need__organization=organization,
            disbursement__status=DisbursementStatus.RECEIVED,
        )
        .values("allocation_id")
        .annotate(s=Sum("need_amount"))
        .values_list("allocation_id", "s")
    )
    spent = dict(
        DeliveryReport.objects.filter(need__organization=organization)
        .values("need_id")
        .annotate(s=Sum("amount_spent"))
        .values_list("need_id", "s")
    )
    zero = Decimal(0)
    by_need: dict = defaultdict(lambda: {"expected": zero, "received": zero})
    by_donor: dict = defaultdict(lambda: {"expected": zero, "received": zero})
    needs, currencies = {}, {}
    for a in allocations:
        need = a.need
        needs[need.pk] = need
        currencies[need.currency_id] = need.currency
        got = received.get(a.pk, zero)
        for bucket in (by_need[need.pk], by_donor[(_donor_label(a.pledge), need.currency_id)]):
            bucket["expected"] += a.need_amount
            bucket["received"] += got

    def fmt(value, currency):
        return money_str(value, currency)

    return {
        "organization": str(organization.pk),
        "by_need": [
            {
                "need": str(need_id),
                "title": needs[need_id].title,
                "currency": needs[need_id].currency_id,
                "expected": fmt(v["expected"], needs[need_id].currency),
                "received": fmt(v["received"], needs[need_id].currency),
                "spent": fmt(spent.get(need_id, zero), needs[need_id].currency),
            }
            for need_id, v in sorted(by_need.items(), key=lambda kv: str(kv[0]))
        ],
        "by_donor": [
            {
                "donor": donor,
                "currency": currency,
                "expected": fmt(v["expected"], currencies[currency]),
                "received": fmt(v["received"], currencies[currency]),
            }
            for (donor, currency), v in sorted(by_donor.items())
        ],
    }
