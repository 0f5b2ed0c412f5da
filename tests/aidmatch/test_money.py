from decimal import Decimal

import pytest

from aidmatch.money import AmountError, Money, convert, from_minor, parse_amount, to_minor


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
