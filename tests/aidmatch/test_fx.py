"""Exchange-rate arithmetic: which snapshot, inverse and cross rates, rounding down, parsing."""

from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aidmatch.errors import RuleViolation
from aidmatch.fx import (
    IDENTITY_SOURCE,
    InvalidRate,
    NoExchangeRate,
    Quote,
    Snapshot,
    StaleExchangeRate,
    invert,
    latest_by_pair,
    multiply,
    parse_date,
    parse_rate,
    parse_row,
    pool_rates,
    rates_to,
    resolve,
)
from aidmatch.money import convert

JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
UN, DAB = "UN operational rates", "Da Afghanistan Bank"


def snap(base, quote, rate, day, source=UN, seq=0):
    return Snapshot(base, quote, D(rate), day, source, seq)


def test_the_same_currency_converts_at_exactly_one():
    assert resolve("AFN", "AFN", JAN, []) == Quote(D(1), IDENTITY_SOURCE, None)


def test_the_latest_snapshot_on_or_before_the_day_is_used():
    snaps = [
        snap("USD", "AFN", "70.10", JAN),
        snap("USD", "AFN", "71.20", FEB),
        snap("USD", "AFN", "72.30", MAR),  # after the day: ignored
    ]
    assert resolve("USD", "AFN", date(2026, 2, 20), snaps) == Quote(D("71.20"), UN, FEB)
    assert resolve("USD", "AFN", FEB, snaps).rate == D("71.20")  # on the day itself
    assert resolve("USD", "AFN", date(2026, 1, 31), snaps).rate == D("70.10")


def test_nothing_before_the_day_is_no_exchange_rate():
    with pytest.raises(NoExchangeRate) as caught:
        resolve("USD", "AFN", date(2025, 12, 31), [snap("USD", "AFN", "70", JAN)])
    assert isinstance(caught.value, RuleViolation)
    assert caught.value.code == "no_exchange_rate" and caught.value.status == 422
    assert "USD to AFN on or before 2025-12-31" in caught.value.detail


def test_on_the_same_date_the_snapshot_recorded_last_wins():
    snaps = [snap("USD", "AFN", "70", JAN, UN, seq=2), snap("USD", "AFN", "71", JAN, DAB, seq=5)]
    assert resolve("USD", "AFN", JAN, snaps) == Quote(D("71"), DAB, JAN)
    assert latest_by_pair(reversed(snaps), JAN)[("USD", "AFN")].source == DAB


def test_only_an_inverse_snapshot_is_inverted_and_rounded_down():
    # 1 / 3 = 0.33333333333…, rounded down at 10 places.
    assert resolve("AFN", "USD", JAN, [snap("USD", "AFN", "3", JAN)]) == Quote(
        D("0.3333333333"), UN, JAN
    )
    # 1 / 0.6 = 1.6666666666… — half-up would give …667: the receiver would get more.
    assert invert(D("0.6")) == D("1.6666666666")


def test_a_newer_inverse_snapshot_beats_a_stale_direct_one_but_not_a_same_day_one():
    stale = [snap("AFN", "USD", "0.02", JAN), snap("USD", "AFN", "80", FEB, DAB)]
    assert resolve("AFN", "USD", FEB, stale) == Quote(D("0.0125"), DAB, FEB)
    same_day = [snap("AFN", "USD", "0.02", FEB), snap("USD", "AFN", "80", FEB, DAB)]
    assert resolve("AFN", "USD", FEB, same_day) == Quote(D("0.02"), UN, FEB)


def test_a_cross_rate_goes_through_usd_rounding_down_and_dated_by_the_older_leg():
    snaps = [snap("EUR", "USD", "1.0850", JAN), snap("USD", "AFN", "70.7777777777", FEB, DAB)]
    got = resolve("EUR", "AFN", MAR, snaps)
    # 1.085 × 70.7777777777 = 76.79388888880450 → 76.7938888888 (down)
    assert got == Quote(D("76.7938888888"), f"{UN} × {DAB} (via USD)", JAN)
    # and back, through both inverses: (1/70.7777777777) × (1/1.085), each leg rounded down
    back = resolve("AFN", "EUR", MAR, snaps)
    assert back.rate == multiply(invert(D("70.7777777777")), invert(D("1.0850")))
    assert back.rate * got.rate < 1  # never a round trip that makes money


def test_a_direct_rate_is_preferred_to_a_cross_rate():
    snaps = [
        snap("EUR", "USD", "1.08", JAN),
        snap("USD", "AFN", "70", JAN),
        snap("EUR", "AFN", "75.5", JAN, DAB),
    ]
    assert resolve("EUR", "AFN", JAN, snaps) == Quote(D("75.5"), DAB, JAN)


def test_a_cross_rate_needs_both_legs():
    with pytest.raises(NoExchangeRate):
        resolve("EUR", "AFN", JAN, [snap("EUR", "USD", "1.08", JAN)])


def test_rates_to_maps_every_convertible_currency_including_itself():
    snaps = [
        snap("USD", "AFN", "70", JAN),
        snap("EUR", "USD", "1.08", JAN),
        snap("GBP", "USD", "1.25", JAN),
        snap("PKR", "INR", "0.3", JAN),  # unrelated to AFN or USD: not reachable
    ]
    got = rates_to("AFN", JAN, snaps)
    assert set(got) == {"AFN", "USD", "EUR", "GBP"}
    assert got["AFN"].rate == 1
    assert got["USD"] == Quote(D("70"), UN, JAN)
    assert got["EUR"].rate == D("75.6") and got["GBP"].rate == D("87.5")
    assert rates_to("AFN", date(2025, 1, 1), snaps) == {"AFN": Quote(D(1), IDENTITY_SOURCE, None)}


RATES = st.decimals(min_value=D("0.0001"), max_value=D("100000"), places=4)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(rate=RATES, amount=st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=2))
def test_an_inverted_conversion_never_gives_the_receiver_more(rate, amount):
    inverse = invert(rate)
    assert inverse * rate <= 1
    assert (inverse + D("1e-10")) * rate > 1  # and it is the largest such 10-place rate
    # converting there and back never creates money
    there = convert(amount, rate, 2)
    assert convert(there, inverse, 2) <= amount


@settings(max_examples=200, deadline=None, derandomize=True)
@given(first=RATES, second=RATES)
def test_a_cross_rate_is_the_exact_product_rounded_down(first, second):
    product = multiply(first, second)
    assert product <= first * second < product + D("1e-10")


@pytest.mark.parametrize("text", ["72.5", "1", " 0.0125 ", "99999999999999.9999999999"])
def test_plain_rates_are_read(text):
    assert parse_rate(text) == D(text.strip())


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0", "greater than zero"),
        ("0.0000", "greater than zero"),
        ("-70", "greater than zero"),
        ("abc", "not a plain decimal"),
        ("", "not a plain decimal"),
        ("1e3", "not a plain decimal"),
        ("7E+1", "not a plain decimal"),
        ("NaN", "not a plain decimal"),
        ("Infinity", "not a plain decimal"),
        ("70,5", "not a plain decimal"),
        ("1_000", "not a plain decimal"),
        ("+70", "not a plain decimal"),
        ("0x1F", "not a plain decimal"),
        (".5", "not a plain decimal"),
        ("0.30000000000000004", "10 decimal places"),
        ("123456789012345", "14 digits"),
        (72.5, "not floating-point"),
        (True, "not floating-point"),
        (None, "plain decimal"),
    ],
)
def test_bad_rates_are_refused_not_rounded(value, reason):
    with pytest.raises(InvalidRate, match=reason):
        parse_rate(value)


@pytest.mark.parametrize("text", ["2026-02-30", "2026/01/01", "20260101", "01-02-2026", "", "x"])
def test_bad_dates_are_refused(text):
    with pytest.raises(InvalidRate):
        parse_date(text)


def test_a_row_names_every_problem_at_once():
    known = {"USD", "AFN"}
    row = parse_row(
        {"base": " usd", "quote": "AFN", "rate": "70.5", "date": "2026-01-01", "source": " UN  x "},
        known,
    )
    assert (row.base, row.quote, row.rate, row.date, row.source) == (
        "USD",
        "AFN",
        D("70.5"),
        JAN,
        "UN x",
    )
    with pytest.raises(InvalidRate) as caught:
        parse_row({"base": "XXX", "quote": "AFN", "rate": "1e2", "date": "2026-13-01"}, known)
    detail = caught.value.detail
    assert "base: unknown currency 'XXX'" in detail
    for field in ("rate:", "date:", "source:"):
        assert field in detail
    with pytest.raises(InvalidRate, match="must differ"):
        parse_row(
            {"base": "AFN", "quote": "AFN", "rate": "1", "date": "2026-01-01", "source": "x"}, known
        )


# --- The maximum age of a rate ------------------------------------------------------------------


def test_without_a_maximum_age_any_past_rate_is_used():
    assert resolve("USD", "AFN", date(2026, 11, 25), [snap("USD", "AFN", "70", JAN)]).date == JAN


def test_a_rate_older_than_the_maximum_age_is_stale_and_names_pair_and_date():
    snaps = [snap("EUR", "AFN", "77.05", date(2026, 7, 15))]
    with pytest.raises(StaleExchangeRate) as caught:
        resolve("EUR", "AFN", date(2026, 11, 25), snaps, max_age_days=7)
    error = caught.value
    assert isinstance(error, NoExchangeRate) and error.status == 422
    assert error.extensions == {
        "base": "EUR",
        "quote": "AFN",
        "on": "2026-11-25",
        "rate_date": "2026-07-15",
        "max_age_days": 7,
    }
    assert "from EUR to AFN" in error.detail and "2026-07-15" in error.detail
    on_the_last_day = resolve("EUR", "AFN", date(2026, 7, 22), snaps, max_age_days=7)
    assert on_the_last_day.date == date(2026, 7, 15)


def test_a_cross_rate_is_fresh_only_when_both_legs_are():
    day = date(2026, 11, 25)
    fresh_leg = snap("USD", "AFN", "66", date(2026, 11, 24))
    stale_leg = snap("EUR", "USD", "1.08", date(2026, 11, 1))
    with pytest.raises(StaleExchangeRate) as caught:
        resolve("EUR", "AFN", day, [fresh_leg, stale_leg], max_age_days=7)
    assert caught.value.rate_date == date(2026, 11, 1)
    both = [fresh_leg, snap("EUR", "USD", "1.08", date(2026, 11, 20))]
    assert resolve("EUR", "AFN", day, both, max_age_days=7).date == date(2026, 11, 20)


def test_pool_rates_separate_usable_and_stale_currencies():
    day = date(2026, 11, 25)
    snaps = [snap("USD", "AFN", "66", day), snap("EUR", "USD", "1.08", date(2026, 7, 1))]
    found = pool_rates("USD", day, snaps, max_age_days=7)
    assert set(found.quotes) == {"USD", "AFN"}
    assert found.stale == {"EUR": date(2026, 7, 1)}
    assert rates_to("USD", day, snaps, max_age_days=7) == found.quotes
