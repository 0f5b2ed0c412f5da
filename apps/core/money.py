"""Money columns and API fields: Decimal amounts beside a currency, never floats."""

import re
from collections.abc import Callable
from decimal import Decimal

from django.apps import apps
from django.db import models
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import fields as drf_fields
from rest_framework import serializers

from aidmatch.money import AMOUNT_PATTERN, AmountError, amount_text, parse_amount
from apps.core.i18n import domain_message
from apps.core.serializers import SLOW, plain_attribute

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
        "float": gettext_lazy(
            'Send amounts as strings (e.g. "1250.00"), not as JSON numbers with decimals.'
        ),
        "format": gettext_lazy('Write amounts as plain decimals, e.g. "1250.00".'),
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
        raise serializers.ValidationError({field: [domain_message(exc)]}) from None


def minor_unit_of(currency) -> int:
    """The minor unit of a Currency row (or anything with ``minor_unit``) or of an ISO code.

    Codes are looked up once per process (the currencies are reference facts that never change)."""
    if type(currency) is str and currency in _MINOR_UNITS:  # the usual case, first
        return _MINOR_UNITS[currency]
    if hasattr(currency, "minor_unit"):
        return currency.minor_unit
    code = str(currency)
    if code not in _MINOR_UNITS:
        Currency = apps.get_model("reference", "Currency")
        _MINOR_UNITS.update(Currency.objects.values_list("code", "minor_unit"))
    try:
        return _MINOR_UNITS[code]
    except KeyError:
        raise ValueError(f"Unknown currency '{code}'.") from None


_MINOR_UNITS: dict[str, int] = {}


def money_str(amount: Decimal, minor_unit) -> str:
    """``amount`` with exactly its currency's decimals; ``minor_unit`` is the number of decimals,
    a Currency row or a currency code. Dict-shaped responses (trace, funding, public figures)
    use this; serializers use :class:`MoneyField`, which calls it."""
    if not isinstance(minor_unit, int):
        minor_unit = minor_unit_of(minor_unit)
    return amount_text(amount, minor_unit)


@extend_schema_field(
    {
        "type": "string",
        "pattern": AMOUNT_PATTERN,
        "description": (
            "An amount as a decimal string with exactly its currency's minor-unit decimals "
            '(ISO 4217: "1250.00" USD or AFN, "1500" JPY, "12.500" KWD).'
        ),
        "example": "1250.00",
    }
)
class MoneyField(serializers.Field):
    """The one way an amount leaves the API: a Decimal written with exactly the decimals of its
    currency, read from the same object.

    ``currency_field`` says where that currency is: a dotted path on the object (``"currency"``,
    ``"pledge.currency"``, ``"received_currency"``; dict keys work too) or a callable taking the
    object. The currency found may be a Currency row or an ISO code. The value comes from
    ``source`` as usual.
    """

    def __init__(self, *, currency_field: str | Callable = "currency", **kwargs):
        self.currency_field = currency_field
        self._currency_path = None if callable(currency_field) else currency_field.split(".")
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        value = plain_attribute(instance, self.source_attrs) if self.source_attrs else SLOW
        if value is SLOW:
            value = super().get_attribute(instance)
        if value is None:
            return None
        if self._currency_path is None:
            return value, self.currency_field(instance)
        currency = plain_attribute(instance, self._currency_path)
        if currency is SLOW:
            currency = drf_fields.get_attribute(instance, self._currency_path)
        return value, currency

    def to_representation(self, value):
        if value is None:
            return None
        amount, currency = value
        return money_str(amount, currency)
