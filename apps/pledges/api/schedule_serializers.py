"""Recurring pledges over the API: as the donor (and verifiers) see one, and what a donor sends."""

from django.utils.translation import gettext
from rest_framework import serializers

from aidmatch.schedules import (
    DEFAULT_TIME_ZONE,
    MAX_OCCURRENCES,
    Interval,
    InvalidSchedule,
    Spec,
    time_zones,
)
from apps.core.i18n import domain_message
from apps.core.money import AmountField, MoneyField
from apps.core.serializers import StrictSerializer
from apps.pledges.api.serializers import PledgeTermsSerializer
from apps.pledges.models import PledgeSchedule


class PledgeScheduleSerializer(serializers.ModelSerializer):
    """A recurring pledge as its donor (and verifiers) see it."""

    currency = serializers.CharField(source="currency_id")
    amount = MoneyField(help_text="Each occurrence's amount, from amount_from on.")
    earlier_amount = MoneyField(
        allow_null=True, help_text="The amount of occurrences dated before amount_from."
    )
    earmark_sectors = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    earmark_provinces = serializers.SlugRelatedField(slug_field="pcode", many=True, read_only=True)
    earmark_organization = serializers.UUIDField(source="earmark_organization_id", allow_null=True)
    earmark_need = serializers.UUIDField(source="earmark_need_id", allow_null=True)
    commit_window = serializers.SerializerMethodField()

    class Meta:
        model = PledgeSchedule
        fields = [
            "id",
            "status",
            "stop_reason",
            "amount",
            "currency",
            "amount_from",
            "earlier_amount",
            "earmark_sectors",
            "earmark_provinces",
            "earmark_organization",
            "earmark_need",
            "interval",
            "day_of_month",
            "start_date",
            "end_date",
            "occurrences_limit",
            "time_zone",
            "commit_window",
            "auto_commit",
            "public_message",
            "anonymous",
            "next_due_at",
            "occurrences_made",
            "ended_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_commit_window(self, obj) -> int:
        """In hours."""
        return int(obj.commit_window.total_seconds() // 3600)


class PledgeScheduleCreateSerializer(PledgeTermsSerializer):
    interval = serializers.ChoiceField(choices=[i.value for i in Interval])
    day_of_month = serializers.IntegerField(
        min_value=1, max_value=31, help_text="1-31; past a month's last day, its last day."
    )
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True)
    occurrences_limit = serializers.IntegerField(
        min_value=1, max_value=MAX_OCCURRENCES, required=False, allow_null=True
    )
    time_zone = serializers.CharField(
        max_length=64, required=False, default=DEFAULT_TIME_ZONE, help_text="An IANA zone."
    )

    def validate_time_zone(self, value):
        if value not in time_zones():
            raise serializers.ValidationError(
                gettext("Not a known IANA time zone (e.g. Asia/Kabul).")
            )
        return value

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs.get("end_date") is not None and attrs.get("occurrences_limit") is not None:
            raise serializers.ValidationError(
                {"end_date": [gettext("Give an end date or a number of occurrences, not both.")]}
            )
        if attrs.get("end_date") is not None and attrs["end_date"] < attrs["start_date"]:
            raise serializers.ValidationError(
                {"end_date": [gettext("Must not be before start_date.")]}
            )
        try:
            Spec(
                interval=attrs["interval"],
                day_of_month=attrs["day_of_month"],
                start=attrs["start_date"],
                end=attrs.get("end_date"),
                limit=attrs.get("occurrences_limit"),
                time_zone=attrs["time_zone"],
            )
        except InvalidSchedule as exc:
            raise serializers.ValidationError({"non_field_errors": [domain_message(exc)]}) from None
        return attrs


class PledgeScheduleUpdateSerializer(StrictSerializer):
    amount = AmountField(required=False, help_text="The amount from the next occurrence on.")
    end_date = serializers.DateField(
        required=False, help_text="The last day an occurrence may fall (replaces any limit)."
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                {"non_field_errors": [gettext("Send amount or end_date.")]}
            )
        return attrs
