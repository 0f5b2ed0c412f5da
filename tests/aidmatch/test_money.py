from decimal import Decimal

import pytest

from aidmatch.money import (
    AmountError,
    CurrencyUnit,
    Money,
    amount_text,
    convert,
    format_money,
    from_minor,
    parse_amount,
    to_minor,
)


@pytest.mark.parametrize(
    ("text", "minor", "expected"),
    [("10", 2, "10.00"), ("10.5", 2, "10.50"), ("7", 0, "7"), ("1.234", 3, "1.234")],
)
def test_amounts_are_quantized_to_the_minor_unit(text, minor, expected):
    assert str(parse_amount(text, minor)) == expected


@pytest.mark.parametrize("text", ["10.005", "-1", "0", "abc", "NaN", "Infinity", ""])
def test_bad_amounts_are_refused(text):
    with pytest.raises(AmountError):
        parse_amount(text, 2)


def test_floats_are_refused():
    with pytest.raises(AmountError):
        parse_amount(10.5, 2)


def test_conversion_rounds_toward_the_receiver_getting_less():
    assert convert(Decimal("100.00"), Decimal("70.12345"), 2) == Decimal("7012.34")
    assert convert(Decimal("1.00"), Decimal("0.3337"), 0) == Decimal("0")


def test_minor_units_round_trip():
    assert to_minor(Decimal("12.34"), 2) == 1234
    assert from_minor(1234, 2) == Decimal("12.34")
    with pytest.raises(AmountError):
        to_minor(Decimal("12.345"), 2)


def test_money_refuses_mixed_currencies():
    with pytest.raises(ValueError, match="USD"):
        Money(Decimal(1), "USD") + Money(Decimal(1), "AFN")


# --- How amounts are written out ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "minor_unit", "text"),
    [
        ("1000.0000", 2, "1000.00"),  # a 4-place column, shown in USD or AFN
        ("63408.0000", 2, "63408.00"),
        ("0", 2, "0.00"),  # zero has the currency's decimals too
        ("0E-4", 2, "0.00"),
        ("-0.0000", 2, "0.00"),  # never "-0.00"
        ("1500.0000", 0, "1500"),  # JPY
        ("0", 0, "0"),
        ("12.5000", 3, "12.500"),  # KWD
        ("1E+3", 2, "1000.00"),  # never an exponent
        ("99999999999999.9900", 2, "99999999999999.99"),
    ],
)
def test_amount_text_has_exactly_the_currencys_decimals(amount, minor_unit, text):
    assert amount_text(Decimal(amount), minor_unit) == text


def test_format_money_names_the_currency():
    usd, jpy = CurrencyUnit("USD", 2), CurrencyUnit("JPY", 0)
    assert format_money(Decimal("884.9300"), usd) == "884.93 USD"
    assert format_money(Decimal("0"), usd) == "0.00 USD"
    assert format_money(Decimal("1500.0000"), jpy) == "1500 JPY"
