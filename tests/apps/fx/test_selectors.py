"""rate_on / convert / rates_to against real snapshots in PostgreSQL."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.db import IntegrityError, transaction

from aidmatch.fx import NoExchangeRate, Quote, StaleExchangeRate
from apps.fx import selectors
from apps.fx.models import ExchangeRate
from tests.factories.fx import ExchangeRateFactory

pytestmark = pytest.mark.django_db

JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
UN, DAB = "UN operational rates", "Da Afghanistan Bank"


@pytest.fixture(autouse=True)
def any_age(settings):
    """These tests choose among snapshots a month apart; the age limit has its own tests below."""
    settings.FX_MAX_RATE_AGE_DAYS = 3650


def test_the_latest_snapshot_on_or_before_the_day_is_used(django_assert_num_queries):
    ExchangeRateFactory(rate=D("70.10"), date=JAN)
    ExchangeRateFactory(rate=D("71.20"), date=FEB)
    ExchangeRateFactory(rate=D("72.30"), date=MAR)
    ExchangeRateFactory(base_id="EUR", quote_id="GBP", rate=D("0.85"), date=FEB)  # unrelated
    with django_assert_num_queries(1):
        got = selectors.rate_on(base="USD", quote="AFN", on=date(2026, 2, 27))
    assert got == Quote(D("71.2000000000"), UN, FEB)
    assert selectors.rate_on(base="USD", quote="AFN", on=MAR).rate == D("72.30")
    with pytest.raises(NoExchangeRate):
        selectors.rate_on(base="USD", quote="AFN", on=date(2025, 12, 31))


def test_a_correction_from_another_source_on_the_same_day_wins():
    ExchangeRateFactory(rate=D("70.10"), date=FEB, source=UN)
    ExchangeRateFactory(rate=D("70.45"), date=FEB, source=DAB)
    assert selectors.rate_on(base="USD", quote="AFN", on=FEB) == Quote(D("70.45"), DAB, FEB)


def test_the_same_currency_needs_no_snapshot(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert selectors.rate_on(base="AFN", quote="AFN", on=JAN) == Quote(D(1), "identity", None)


def test_the_inverse_is_used_and_rounded_down():
    ExchangeRateFactory(base_id="USD", quote_id="AFN", rate=D("70.7"), date=JAN)
    got = selectors.rate_on(base="AFN", quote="USD", on=FEB)
    assert got == Quote(D("0.0141442715"), UN, JAN)  # 1/70.7 = 0.01414427157…
    amount, used = selectors.convert(amount=D("100000.00"), base="AFN", quote="USD", on=FEB)
    assert (amount, used) == (D("1414.42"), got)  # 1414.42715 rounded down


def test_a_pledge_in_eur_converts_to_afn_through_usd():
    ExchangeRateFactory(base_id="EUR", quote_id="USD", rate=D("1.0850"), date=JAN)
    ExchangeRateFactory(base_id="USD", quote_id="AFN", rate=D("70.5"), date=FEB, source=DAB)
    amount, used = selectors.convert(amount=D("250.00"), base="EUR", quote="AFN", on=MAR)
    assert used == Quote(D("76.4925"), f"{UN} × {DAB} (via USD)", JAN)
    assert amount == D("19123.12")  # 250 × 76.4925 = 19123.125 → down


def test_conversion_rounds_down_to_the_quote_currencys_minor_unit():
    ExchangeRateFactory(base_id="USD", quote_id="JPY", rate=D("150.019"), date=JAN)
    ExchangeRateFactory(base_id="USD", quote_id="KWD", rate=D("0.30779"), date=JAN)
    assert selectors.convert(amount=D("10.00"), base="USD", quote="JPY", on=JAN)[0] == D("1500")
    assert selectors.convert(amount=D("10.00"), base="USD", quote="KWD", on=JAN)[0] == D("3.077")


def test_no_rate_is_a_rule_violation():
    with pytest.raises(NoExchangeRate) as caught:
        selectors.convert(amount=D("1.00"), base="EUR", quote="AFN", on=JAN)
    assert caught.value.status == 422


def test_rates_to_is_one_query_whatever_the_number_of_currencies(django_assert_num_queries):
    ExchangeRateFactory(base_id="USD", quote_id="AFN", rate=D("70"), date=JAN)
    ExchangeRateFactory(base_id="USD", quote_id="AFN", rate=D("71"), date=FEB)
    for code, rate in [("EUR", "1.08"), ("GBP", "1.25"), ("CHF", "1.12"), ("SEK", "0.095")]:
        ExchangeRateFactory(base_id=code, quote_id="USD", rate=D(rate), date=JAN)
    ExchangeRateFactory(base_id="AFN", quote_id="PKR", rate=D("3.9"), date=JAN)
    ExchangeRateFactory(base_id="INR", quote_id="PKR", rate=D("3.3"), date=JAN)  # unreachable
    with django_assert_num_queries(1):
        got = selectors.rates_to(quote="AFN", on=FEB)
    assert set(got) == {"AFN", "USD", "EUR", "GBP", "CHF", "SEK", "PKR"}
    assert got["AFN"].rate == 1
    assert got["USD"] == Quote(D("71.0000000000"), UN, FEB)
    assert got["EUR"].rate == D("76.68")
    assert got["PKR"].rate == D("0.2564102564")  # 1/3.9, down
    for code, quote in got.items():  # the bulk helper agrees with the one-pair selector
        assert selectors.rate_on(base=code, quote="AFN", on=FEB) == quote


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"rate": D("0")}, "fx_rate_positive"),
        ({"rate": D("-1")}, "fx_rate_positive"),
        ({"quote_id": "USD"}, "fx_rate_distinct_pair"),
        ({"source": ""}, "fx_rate_source_present"),
    ],
)
def test_the_database_refuses_impossible_snapshots(fields, constraint):
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        ExchangeRate.objects.create(
            **{"base_id": "USD", "quote_id": "AFN", "rate": D("70"), "date": JAN, "source": UN}
            | fields
        )


def test_the_database_refuses_a_second_snapshot_of_the_same_pair_day_and_source():
    ExchangeRateFactory()
    with pytest.raises(IntegrityError, match="fx_rate_unique_snapshot"), transaction.atomic():
        ExchangeRateFactory(rate=D("71"))


# --- The maximum age of a rate (FX_MAX_RATE_AGE_DAYS) -------------------------------------------


def test_a_rate_older_than_the_maximum_age_is_refused_naming_the_pair_and_its_date(settings):
    settings.FX_MAX_RATE_AGE_DAYS = 7
    ExchangeRateFactory(base_id="USD", quote_id="AFN", rate=D("70.5"), date=FEB)
    assert selectors.rate_on(base="USD", quote="AFN", on=date(2026, 2, 8)).date == FEB  # 7 days
    with pytest.raises(StaleExchangeRate) as caught:
        selectors.rate_on(base="AFN", quote="USD", on=date(2026, 2, 9))  # 8 days: too old
    assert (caught.value.base, caught.value.quote, caught.value.rate_date) == ("AFN", "USD", FEB)
    assert caught.value.status == 422 and "2026-02-01" in caught.value.detail
    settings.FX_MAX_RATE_AGE_DAYS = 8  # the setting is read on every conversion
    assert selectors.rate_on(base="AFN", quote="USD", on=date(2026, 2, 9)).date == FEB


def test_a_cross_rate_needs_both_legs_fresh(settings):
    settings.FX_MAX_RATE_AGE_DAYS = 7
    ExchangeRateFactory(base_id="EUR", quote_id="USD", rate=D("1.0850"), date=JAN)  # stale leg
    ExchangeRateFactory(base_id="USD", quote_id="AFN", rate=D("70.5"), date=MAR)  # fresh leg
    with pytest.raises(StaleExchangeRate) as caught:
        selectors.convert(amount=D("250.00"), base="EUR", quote="AFN", on=MAR)
    assert caught.value.rate_date == JAN  # the older leg's date
    ExchangeRateFactory(base_id="EUR", quote_id="USD", rate=D("1.09"), date=MAR)
    assert selectors.convert(amount=D("250.00"), base="EUR", quote="AFN", on=MAR)[1].date == MAR


def test_a_stale_direct_rate_gives_way_to_a_fresh_one_through_usd(settings):
    settings.FX_MAX_RATE_AGE_DAYS = 7
    ExchangeRateFactory(base_id="EUR", quote_id="AFN", rate=D("77"), date=JAN, source=DAB)
    ExchangeRateFactory(base_id="EUR", quote_id="USD", rate=D("1.1"), date=MAR)
    ExchangeRateFactory(base_id="USD", quote_id="AFN", rate=D("70"), date=MAR)
    assert selectors.rate_on(base="EUR", quote="AFN", on=MAR) == Quote(
        D("77.0000000000"), f"{UN} (via USD)", MAR
    )


def test_the_pool_leaves_out_currencies_whose_rates_are_too_old(settings):
    settings.FX_MAX_RATE_AGE_DAYS = 7
    ExchangeRateFactory(base_id="USD", quote_id="AFN", rate=D("70"), date=MAR)
    ExchangeRateFactory(base_id="EUR", quote_id="USD", rate=D("1.08"), date=JAN)
    found = selectors.pool_rates(quote="USD", on=MAR)
    assert set(found.quotes) == {"USD", "AFN"}
    assert found.stale == {"EUR": JAN}
