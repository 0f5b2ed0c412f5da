"""An organization's expected recurring income: the active recurring pledges earmarked to it or
to one of its needs, month by month for the next 12 months, by currency.

Schedules earmarked only by sector or province are not counted: their money may go to any
organization that matching finds. Occurrences already made are pledges, not expectations (once
matched, they show in what the recurring pledges brought in). Each schedule's donor is shown
by the label the funding page gives donors (``label``: "anonymous donor" when asked)."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from aidmatch.schedules import (
    DEFAULT_TIME_ZONE,
    ScheduleStatus,
    add_months,
    due_at,
    expected_by_month,
    paused_during,
    zone,
)
from apps.core.money import money_str
from apps.pledges.models import Pledge, PledgeSchedule
from apps.pledges.schedules import occurrence_amount, pauses_of, spec_of

MONTHS = 12


def expected_recurring(organization, *, label, now=None) -> dict:
    now = now or timezone.now()
    schedules = list(
        PledgeSchedule.objects.filter(
            Q(earmark_organization=organization) | Q(earmark_need__organization=organization),
            status=ScheduleStatus.ACTIVE,
        )
        .select_related("currency", "donor", "donor_organization")
        .order_by("created_at", "pk")
    )
    made = defaultdict(set)
    for schedule_id, period in Pledge.objects.filter(
        schedule__in=[s.pk for s in schedules]
    ).values_list("schedule_id", "schedule_period"):
        made[schedule_id].add(period)
    this_month = now.astimezone(zone(DEFAULT_TIME_ZONE)).date().replace(day=1)
    months = [date(*add_months(this_month.year, this_month.month, k), 1) for k in range(MONTHS)]
    totals: dict = defaultdict(lambda: Decimal(0))
    currencies, shown = {}, []
    for schedule in schedules:
        spec = spec_of(schedule)
        currencies[schedule.currency_id] = schedule.currency
        done, pauses = made[schedule.pk], pauses_of(schedule)

        def amount_of(occurrence, schedule=schedule, spec=spec, done=done, pauses=pauses):
            if occurrence.period in done or paused_during(due_at(spec, occurrence), pauses):
                return Decimal(0)
            return occurrence_amount(schedule, occurrence)

        by_month = expected_by_month(
            spec, amount_of=amount_of, first_month=this_month, months=MONTHS
        )
        for month, amount in by_month.items():
            totals[(month, schedule.currency_id)] += amount
        shown.append(
            {
                "donor": label(schedule),
                "currency": schedule.currency_id,
                "amount": money_str(schedule.amount, schedule.currency),
                "interval": schedule.interval,
                "next_due_at": schedule.next_due_at,
            }
        )
    return {
        "expected_by_month": [
            {
                "month": f"{month:%Y-%m}",
                "currency": currency,
                "amount": money_str(totals[(month, currency)], currencies[currency]),
            }
            for month in months
            for currency in sorted(currencies)
        ],
        "schedules": shown,
    }
