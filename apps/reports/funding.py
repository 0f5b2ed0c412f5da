"""An organization's money, for its members and verifiers: expected (committed), received (net
of refunds), refunded and spent, by donor ("anonymous donor" when asked) and by need, each in
the need's currency. Spent never exceeds received: a report that would is refused, and so is a
refund that would make it so.

``recurring``: what the organization's active recurring pledges are expected to bring in each
month for the next 12 months (``apps.pledges.funding``), and what the pledges they made have
brought in so far (committed, received, refunded), in the need's currency."""

from collections import defaultdict
from decimal import Decimal

from aidmatch.lifecycle import ALLOCATION_COMMITTED
from apps.core.money import money_str
from apps.disbursements.selectors import received_lines
from apps.matching.models import Allocation
from apps.pledges.funding import expected_recurring
from apps.reports.services import spent_by_need


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
    zero = Decimal(0)
    received: dict = defaultdict(lambda: zero)
    refunded: dict = defaultdict(lambda: zero)
    for line in received_lines(allocation__need__organization=organization):
        received[line.allocation_id] += line.net
        refunded[line.allocation_id] += line.refunded
    recurring: dict = defaultdict(lambda: {"expected": zero, "received": zero, "refunded": zero})
    by_need: dict = defaultdict(lambda: {"expected": zero, "received": zero, "refunded": zero})
    by_donor: dict = defaultdict(lambda: {"expected": zero, "received": zero, "refunded": zero})
    needs, currencies = {}, {}
    for a in allocations:
        need = a.need
        needs[need.pk] = need
        currencies[need.currency_id] = need.currency
        for bucket in (by_need[need.pk], by_donor[(_donor_label(a.pledge), need.currency_id)]):
            bucket["expected"] += a.need_amount
            bucket["received"] += received[a.pk]
            bucket["refunded"] += refunded[a.pk]
        if a.pledge.schedule_id is not None:
            bucket = recurring[need.currency_id]
            bucket["expected"] += a.need_amount
            bucket["received"] += received[a.pk]
            bucket["refunded"] += refunded[a.pk]
    spent = spent_by_need(list(needs))

    return {
        "organization": str(organization.pk),
        "by_need": [
            {
                "need": str(need_id),
                "title": needs[need_id].title,
                "currency": needs[need_id].currency_id,
                "expected": money_str(v["expected"], needs[need_id].currency),
                "received": money_str(v["received"], needs[need_id].currency),
                "refunded": money_str(v["refunded"], needs[need_id].currency),
                "spent": money_str(spent.get(need_id, zero), needs[need_id].currency),
            }
            for need_id, v in sorted(by_need.items(), key=lambda kv: str(kv[0]))
        ],
        "by_donor": [
            {
                "donor": donor,
                "currency": currency,
                "expected": money_str(v["expected"], currencies[currency]),
                "received": money_str(v["received"], currencies[currency]),
                "refunded": money_str(v["refunded"], currencies[currency]),
            }
            for (donor, currency), v in sorted(by_donor.items())
        ],
        "recurring": {
            **expected_recurring(organization, label=_donor_label),
            "brought_in": [
                {
                    "currency": currency,
                    "expected": money_str(v["expected"], currencies[currency]),
                    "received": money_str(v["received"], currencies[currency]),
                    "refunded": money_str(v["refunded"], currencies[currency]),
                }
                for currency, v in sorted(recurring.items())
            ],
        },
    }
