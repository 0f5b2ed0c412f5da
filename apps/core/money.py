"""Money columns and API fields: Decimal amounts beside a currency, never floats."""

import re
from decimal import Decimal

from django.db import models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aidmatch.money import AmountError, parse_amount

MAX_DIGITS = 18
DECIMAL_PLACES = 4  # the largest minor unit of any ISO 4217 currency
ZERO = Decimal("0")
_PLAIN_DECIMAL = re.compile(r"^-?[0-9]{1,20}(\.[0-9]{1,20})?$")


def amount_field(**kwargs) -> models.DecimalField:
    kwargs.setdefault("max_digits", MAX_DIGITS)
    kwargs.setdefault("decimal_places", DECIMAL_PLACES)
    return models.DecimalField(**kwargs)


def cached_total_field(**kwargs) -> models.DecimalField:
    """A running total kept in the same transaction as the rows it sums."""
    return amount_field(default=ZERO, editable=False, **kwargs)


class AmountField(serializers.DecimalField):
    """An amount sent as a string ("1250.00"); JSON floats are refused, as they lose cents."""

    default_error_messages = {
        "float": 'Send amounts as strings (e.g. "1250.00"), not as JSON numbers with decimals.',
        "format": 'Write amounts as plain decimals, e.g. "1250.00".',
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", MAX_DIGITS)
        kwargs.setdefault("decimal_places", DECIMAL_PLACES)
        kwargs.setdefault("min_value", Decimal("0.0001"))
        kwargs.setdefault("max_value", Decimal("99999999999999"))
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, float):
            self.fail("float")
        if isinstance(data, str) and not _PLAIN_DECIMAL.match(data.strip()):
            self.fail("format")
        return super().to_internal_value(data)

    def to_representation(self, value):
        return None if value is None else str(value)


def validate_amount_for_currency(
    amount: Decimal, minor_unit: int, field: str = "amount"
) -> Decimal:
    """The amount quantized to the currency's minor unit; more decimals than it has is a 400."""
    try:
        return parse_amount(amount, minor_unit)
    except AmountError as exc:
        raise serializers.ValidationError({field: [exc.detail]}) from None


def money_str(amount: Decimal, minor_unit: int) -> str:
    return str(amount.quantize(Decimal(1).scaleb(-minor_unit)))


@extend_schema_field(OpenApiTypes.STR)
class CurrencyAmountField(serializers.Field):
    """An amount read from ``attr`` and shown with its currency's minor unit ("1250.00")."""

    def __init__(self, attr: str, currency_attr: str = "currency", **kwargs):
        self.attr, self.currency_attr = attr, currency_attr
        kwargs.update(source="*", read_only=True)
        super().__init__(**kwargs)

    def to_representation(self, obj):
        value = getattr(obj, self.attr)
        if value is None:
            return None
        return money_str(value, getattr(obj, self.currency_attr).minor_unit)
