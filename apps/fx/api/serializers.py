from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aidmatch.fx import SOURCE_MAX_LENGTH, InvalidRate, parse_rate, parse_source
from apps.core.i18n import domain_message
from apps.core.money import AmountField, MoneyField, validate_amount_for_currency
from apps.core.serializers import StrictSerializer
from apps.fx.models import ExchangeRate
from apps.reference.models import Currency


class ExchangeRateSerializer(serializers.ModelSerializer):
    """One snapshot: on `date`, `source` quoted 1 `base` = `rate` `quote`."""

    base = serializers.CharField(source="base_id", help_text="ISO 4217 code, e.g. USD.")
    quote = serializers.CharField(source="quote_id", help_text="ISO 4217 code, e.g. AFN.")
    rate = serializers.DecimalField(
        max_digits=24,
        decimal_places=10,
        coerce_to_string=True,
        help_text="Units of the quote currency that one unit of the base currency buys.",
    )

    class Meta:
        model = ExchangeRate
        fields = ["id", "base", "quote", "rate", "date", "source", "created_at"]
        read_only_fields = fields


@extend_schema_field(OpenApiTypes.STR)
class RateField(serializers.Field):
    """A rate sent as a plain decimal string ("72.5"): no floats, exponents or over-precision."""

    def to_internal_value(self, data):
        try:
            return parse_rate(data)
        except InvalidRate as exc:
            raise serializers.ValidationError(domain_message(exc)) from None

    def to_representation(self, value):
        return str(value)


class _SourceField(serializers.CharField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return parse_source(value)
        except InvalidRate as exc:
            raise serializers.ValidationError(domain_message(exc)) from None


def _currency_field(help_text: str) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field="code", queryset=Currency.objects.all(), help_text=help_text
    )


class ExchangeRateCreateSerializer(StrictSerializer):
    """A new snapshot (verifiers). Unknown fields are refused."""

    base = _currency_field("ISO 4217 code of the currency being priced, e.g. USD.")
    quote = _currency_field("ISO 4217 code it is priced in, e.g. AFN.")
    rate = RateField(help_text='1 base = rate quote, as a string with ≤ 10 decimals ("70.85").')
    date = serializers.DateField(help_text="The day the rate applies from (YYYY-MM-DD).")
    source = _SourceField(
        max_length=SOURCE_MAX_LENGTH,
        help_text="Who quoted it, e.g. 'UN operational rates' or 'Da Afghanistan Bank'.",
    )

    def validate(self, attrs):
        if attrs["base"] == attrs["quote"]:
            raise serializers.ValidationError(
                {"quote": [gettext("Must differ from the base currency.")]}
            )
        return attrs


class ConvertQuerySerializer(serializers.Serializer):
    base = _currency_field("The currency of the amount.")
    quote = _currency_field("The currency to convert into.")
    amount = AmountField(help_text='The amount in the base currency, e.g. "250.00".')
    on = serializers.DateField(
        required=False, help_text="The day whose rate to use (default: today, UTC)."
    )

    def validate(self, attrs):
        attrs["amount"] = validate_amount_for_currency(attrs["amount"], attrs["base"].minor_unit)
        return attrs


class ConversionSerializer(serializers.Serializer):
    """An amount converted on a day, with the rate used, its date and where it came from."""

    amount = MoneyField(
        currency_field="base", help_text="The amount converted, in the base currency."
    )
    base = serializers.CharField()
    quote = serializers.CharField()
    on = serializers.DateField()
    converted_amount = MoneyField(
        currency_field="quote", help_text="In the quote currency, rounded down to its minor unit."
    )
    rate = serializers.CharField(help_text="1 base = rate quote (10 decimals, rounded down).")
    rate_date = serializers.DateField(
        allow_null=True,
        help_text=(
            "The date of the snapshot used (the older leg's for a cross rate; null for one "
            "currency). Never more than FX_MAX_RATE_AGE_DAYS before `on`."
        ),
    )
    rate_source = serializers.CharField(
        help_text="The snapshot's source; 'identity' for one currency."
    )
    source = serializers.CharField(help_text="Same as rate_source (kept for existing clients).")
    date = serializers.DateField(
        allow_null=True, help_text="Same as rate_date (kept for existing clients)."
    )
