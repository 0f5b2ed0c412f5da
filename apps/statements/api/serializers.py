"""The statement's query and its shape. The statement is built as plain data
(``apps.statements.selectors.statement``); these serializers describe it for the OpenAPI schema
and give the CSV its columns (one per field of a line)."""

from django.utils import timezone
from django.utils.translation import gettext
from rest_framework import serializers

from aidmatch.statements import LineKind
from apps.core.money import MoneyField

FIRST_YEAR = 2000


class StatementQuerySerializer(serializers.Serializer):
    year = serializers.IntegerField(
        help_text=f"The calendar year (UTC), from {FIRST_YEAR} to the current year."
    )

    def validate_year(self, value: int) -> int:
        last = timezone.now().year
        if not FIRST_YEAR <= value <= last:
            raise serializers.ValidationError(
                gettext("A year from %(first)s to %(last)s.") % {"first": FIRST_YEAR, "last": last}
            )
        return value


class StatementDonorSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["person", "institution"])
    name = serializers.CharField(help_text="The person's name (else email), or the institution's.")


class CurrencyTotalsSerializer(serializers.Serializer):
    currency = serializers.CharField()
    pledged = MoneyField(help_text="Pledges made less reductions, withdrawals and expiries.")
    committed = MoneyField(help_text="Commitments to needs less releases.")
    disbursed = MoneyField(help_text="Tranches sent or received (pledge currency).")
    refunded = MoneyField(help_text="Given back by organizations after receipt.")


def _usd(help_text: str, **kwargs) -> MoneyField:
    return MoneyField(currency_field=lambda row: "USD", help_text=help_text, **kwargs)


class UsdTotalsSerializer(serializers.Serializer):
    pledged = _usd("Each line at its date's rate.")
    committed = _usd("Each line at its date's rate.")
    disbursed = _usd("Each line at its date's rate.")
    refunded = _usd("Each line at its date's rate.")
    lines_without_rate = serializers.IntegerField(
        help_text="Lines with no exchange rate to USD on their date: not in these sums."
    )


class EarmarksSerializer(serializers.Serializer):
    sectors = serializers.ListField(child=serializers.CharField())
    provinces = serializers.ListField(child=serializers.CharField())
    organization = serializers.CharField(
        allow_null=True, help_text="Its pseudonym when it is sensitive."
    )
    need = serializers.UUIDField(allow_null=True)
    need_title = serializers.CharField(allow_null=True)


class StatementPledgeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    amount = MoneyField(help_text="Now (after any reduction or withdrawal).")
    original_amount = MoneyField()
    currency = serializers.CharField()
    status = serializers.CharField()
    anonymous = serializers.BooleanField(
        read_only=True, help_text="Hidden from others; always on your own statement."
    )
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    schedule = serializers.UUIDField(
        allow_null=True, help_text="The recurring pledge that made it (see pledge-schedules/)."
    )
    schedule_period = serializers.DateField(
        allow_null=True, help_text="The first day of the period it was made for."
    )
    earmarks = EarmarksSerializer()


class StatementLineSerializer(serializers.Serializer):
    """One movement of the donor's money (also one CSV row)."""

    date = serializers.DateField(
        help_text="Pledges and commitments: the day the ledger booked them; tranches: the value "
        "date; refunds: the refund date."
    )
    kind = serializers.ChoiceField(choices=[k.value for k in LineKind])
    reversal = serializers.BooleanField(
        read_only=True,
        help_text="A reduction, withdrawal, expiry, release or refund: a negative amount.",
    )
    pledge = serializers.UUIDField(allow_null=True)
    amount = MoneyField(help_text="Signed, in the pledge's currency (a refund: as received).")
    currency = serializers.CharField()
    amount_usd = _usd("At the line's date; null when no rate is known.", allow_null=True)
    usd_missing_reason = serializers.ChoiceField(choices=["no_rate", "stale_rate"], allow_null=True)
    need_amount = MoneyField(
        currency_field="need_currency",
        allow_null=True,
        help_text="Commitments and tranches: in the need's currency (AFN for most needs).",
    )
    need_currency = serializers.CharField(allow_null=True)
    need = serializers.UUIDField(allow_null=True)
    need_title = serializers.CharField(allow_null=True)
    sector = serializers.CharField(allow_null=True)
    province = serializers.CharField(allow_null=True, help_text="Admin-1 P-code.")
    organization = serializers.CharField(
        allow_null=True, help_text="Its pseudonym when it is sensitive."
    )
    allocation = serializers.UUIDField(allow_null=True)
    tranche = serializers.UUIDField(allow_null=True)
    tranche_status = serializers.CharField(allow_null=True)
    channel = serializers.CharField(allow_null=True)
    received_date = serializers.DateField(allow_null=True)


class StatementReportSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    need = serializers.UUIDField()
    need_title = serializers.CharField()
    sector = serializers.CharField()
    province = serializers.CharField()
    organization = serializers.CharField(help_text="Its pseudonym when it is sensitive.")
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    final = serializers.BooleanField(read_only=True)
    people_reached = serializers.IntegerField(
        allow_null=True, help_text="Null below the public minimum (PUBLIC_MIN_BENEFICIARIES)."
    )
    narrative = serializers.CharField(
        allow_null=True, help_text="Null for a sensitive organization."
    )


class StatementSerializer(serializers.Serializer):
    """A donor's giving statement for a calendar year."""

    year = serializers.IntegerField()
    generated_at = serializers.DateTimeField()
    donor = StatementDonorSerializer()
    totals = CurrencyTotalsSerializer(many=True)
    totals_usd = UsdTotalsSerializer()
    pledges = StatementPledgeSerializer(many=True)
    lines = StatementLineSerializer(many=True)
    reports = StatementReportSerializer(many=True)
