"""A pledge's trace, for its donor: each allocation, its tranches (with any refunds: the
received amount is net of them), and the reports of the needs it funded — with what a
sensitive organization must hide hidden. A fixed number of queries whatever the pledge's size."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Prefetch

from aidmatch.disbursing import refunded_share
from aidmatch.money import minor_quantum
from apps.core.money import money_str
from apps.disbursements.models import DisbursementLine, Refund
from apps.matching.models import Allocation
from apps.pledges.models import Pledge
from apps.reports.models import DeliveryReport


def pledge_trace(pledge: Pledge) -> dict:
    minor = pledge.currency.minor_unit
    allocations = list(
        Allocation.objects.filter(pledge=pledge)
        .exclude(status__in=["declined", "released"])
        .select_related("need__organization", "need__currency", "need__sector")
        .prefetch_related(
            Prefetch(
                "disbursement_lines",
                queryset=DisbursementLine.objects.select_related("disbursement__received_currency")
                .prefetch_related(
                    Prefetch(
                        "disbursement__refunds", queryset=Refund.objects.order_by("created_at")
                    )
                )
                .order_by("disbursement__created_at"),
            )
        )
        .order_by("proposed_at", "pk")
    )
    need_ids = {a.need_id for a in allocations}
    reports = defaultdict(list)
    for report in (
        DeliveryReport.objects.filter(need_id__in=need_ids)
        .prefetch_related("items__line_item")
        .order_by("period_end", "pk")
    ):
        reports[report.need_id].append(report)

    sent = received_share = refunded_share_total = Decimal(0)
    quantum = minor_quantum(minor)
    out = []
    for a in allocations:
        need = a.need
        sensitive = need.organization.sensitive
        tranches = []
        for line in a.disbursement_lines.all():
            d = line.disbursement
            tranches.append(
                {
                    "id": str(d.pk),
                    "status": d.status,
                    "channel": d.channel,
                    "amount": money_str(line.amount, minor),
                    "need_amount": money_str(line.need_amount, need.currency.minor_unit),
                    "fee_amount": money_str(d.fee_amount, minor),
                    "received_amount": None
                    if d.received_amount is None
                    else money_str(d.received_amount, d.received_currency),
                    "received_currency": d.received_currency_id,
                    "sent_at": d.sent_at,
                    "received_date": d.received_date,
                    "refunded_amount": None
                    if d.received_currency is None
                    else money_str(d.refunded_amount, d.received_currency),
                    "refunds": [
                        {
                            "amount": money_str(r.amount, d.received_currency),
                            "currency": r.currency_id,
                            "refund_date": r.refund_date,
                            "reason": None if sensitive else r.reason,
                        }
                        for r in d.refunds.all()
                    ],
                }
            )
            if d.status in ("sent", "received"):
                sent += line.amount
            if d.status == "received":
                given_back = refunded_share(
                    line.amount, d.received_amount, d.refunded_amount, quantum
                )
                received_share += line.amount - given_back
                refunded_share_total += given_back
        out.append(
            {
                "allocation": str(a.pk),
                "status": a.status,
                "amount": money_str(a.amount, minor),
                "need_amount": money_str(a.need_amount, need.currency.minor_unit),
                "need_currency": need.currency_id,
                "need": {
                    "id": str(need.pk),
                    "title": need.title,
                    "sector": need.sector_id,
                    "province": need.province_id,
                    "district": None if sensitive else need.district_id,
                    "organization": need.organization.public_name(),
                    "status": need.status,
                },
                "tranches": tranches,
                "reports": [_report(r, sensitive) for r in reports[need.pk]],
            }
        )
    return {
        "pledge": str(pledge.pk),
        "currency": pledge.currency_id,
        "amount": money_str(pledge.amount, minor),
        "committed_amount": money_str(pledge.committed_amount, minor),
        "disbursed_amount": money_str(pledge.disbursed_amount, minor),
        "sent_amount": money_str(sent, minor),
        "received_amount": money_str(received_share, minor),
        "refunded_amount": money_str(refunded_share_total, minor),
        "allocations": out,
    }


def _report(report: DeliveryReport, sensitive: bool) -> dict:
    return {
        "id": str(report.pk),
        "period_start": report.period_start,
        "period_end": report.period_end,
        "reached": {
            "women": report.reached_women,
            "girls": report.reached_girls,
            "men": report.reached_men,
            "boys": report.reached_boys,
            "households": report.households,
        },
        "items": [
            {"item": i.line_item.description, "quantity": i.quantity} for i in report.items.all()
        ],
        "narrative": None if sensitive else report.narrative,
        "final": report.final,
    }
