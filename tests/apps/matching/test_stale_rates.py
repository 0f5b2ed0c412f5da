"""Matching leaves out currencies whose exchange rates are older than FX_MAX_RATE_AGE_DAYS, and
says so in the run's stats."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from aidmatch.lifecycle import AllocationStatus
from apps.fx.models import ExchangeRate
from apps.matching.models import Allocation
from apps.matching.services.runs import match_run_execute
from tests.conftest import client_for
from tests.factories import NeedFactory, PledgeFactory

pytestmark = pytest.mark.django_db


def _rate(base, quote, rate, days_old):
    ExchangeRate.objects.create(
        base_id=base,
        quote_id=quote,
        rate=Decimal(rate),
        date=timezone.now().date() - timedelta(days=days_old),
        source="UN operational rates",
    )


def test_a_currency_with_only_stale_rates_is_left_out_and_named_in_the_run(verifier):
    _rate("USD", "AFN", "70.5", days_old=1)  # fresh
    _rate("EUR", "USD", "1.08", days_old=30)  # too old for the default 7 days
    euros = PledgeFactory(amount=Decimal("100.00"), currency_id="EUR")
    dollars = PledgeFactory(amount=Decimal("100.00"), currency_id="USD")
    NeedFactory(amount=Decimal("1000000.00"), currency_id="AFN")
    NeedFactory(amount=Decimal("900.00"), currency_id="EUR")

    run = match_run_execute(trigger="manual", mode="full")

    live = Allocation.objects.filter(status=AllocationStatus.PROPOSED)
    assert set(live.values_list("pledge_id", flat=True)) == {dollars.pk}
    assert not live.filter(pledge=euros).exists()
    assert run.stats["currencies_without_rate"] == ["EUR"]
    assert run.stats["stale_rates"] == {"EUR": str(timezone.now().date() - timedelta(days=30))}
    assert (run.stats["pledges_no_rate"], run.stats["needs_no_rate"]) == (1, 1)
    shown = client_for(verifier).get(f"/api/v1/match-runs/{run.pk}").json()
    assert shown["stats"]["currencies_without_rate"] == ["EUR"]

    _rate("EUR", "USD", "1.09", days_old=0)  # a verifier records a fresh rate
    again = match_run_execute(trigger="manual", mode="full")
    assert again.stats["currencies_without_rate"] == []
    assert again.stats["pledges_no_rate"] == again.stats["needs_no_rate"] == 0
    assert live.filter(pledge=euros).exists()


def test_the_maximum_age_is_read_from_the_settings(settings):
    _rate("EUR", "USD", "1.08", days_old=30)
    PledgeFactory(amount=Decimal("100.00"), currency_id="EUR")
    NeedFactory(amount=Decimal("1000.00"), currency_id="USD")
    settings.FX_MAX_RATE_AGE_DAYS = 30

    run = match_run_execute(trigger="manual", mode="full")

    assert run.stats["currencies_without_rate"] == [] and run.stats["pledges_no_rate"] == 0
    assert Allocation.objects.filter(status=AllocationStatus.PROPOSED).exists()
