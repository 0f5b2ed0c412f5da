from rest_framework import serializers

from apps.audit.reads import ConfidentialReadMixin
from apps.core.money import AmountField, MoneyField, validate_amount_for_currency
from apps.core.serializers import StrictBooleanField, StrictSerializer
from apps.reports.models import DeliveryReport, EvidenceFile


class DeliveredItemSerializer(serializers.Serializer):
    line_item = serializers.CharField(source="line_item.description")
    quantity = serializers.IntegerField()
    of_quantity = serializers.IntegerField(source="line_item.quantity")


class EvidenceSerializer(ConfidentialReadMixin, serializers.ModelSerializer):
    """An evidence file's description; its name may say who is in it (an audited read)."""

    confidential_fields = ("filename",)

    class Meta:
        model = EvidenceFile
        fields = ["id", "filename", "content_type", "size", "sha256", "created_at"]
        read_only_fields = fields


class ReportSerializer(serializers.ModelSerializer):
    """A report as donors see it: no evidence files; no narrative for sensitive organizations."""

    need = serializers.UUIDField(source="need_id")
    amount_spent = MoneyField()
    currency = serializers.CharField(source="need.currency_id")
    items = DeliveredItemSerializer(many=True)
    narrative = serializers.SerializerMethodField()

    class Meta:
        model = DeliveryReport
        fields = [
            "id",
            "need",
            "period_start",
            "period_end",
            "reached_women",
            "reached_girls",
            "reached_men",
            "reached_boys",
            "households",
            "items",
            "narrative",
            "amount_spent",
            "currency",
            "final",
            "created_at",
        ]
        read_only_fields = fields

    def get_narrative(self, obj) -> str | None:
        if obj.need.organization.sensitive and not self.context.get("insider"):
            return None
        return obj.narrative


class ReportInsiderSerializer(ReportSerializer):
    evidence = EvidenceSerializer(many=True)

    class Meta(ReportSerializer.Meta):
        fields = [*ReportSerializer.Meta.fields, "evidence"]
        read_only_fields = fields


class DeliveredItemInputSerializer(StrictSerializer):
    line_item = serializers.IntegerField(min_value=1, help_text="The need's line item id")
    quantity = serializers.IntegerField(min_value=0, max_value=10_000_000)


class ReportCreateSerializer(StrictSerializer):
    need = serializers.UUIDField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    reached_women = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)
    reached_girls = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)
    reached_men = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)
    reached_boys = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)
    households = serializers.IntegerField(min_value=0, max_value=10_000_000, default=0)
    items = DeliveredItemInputSerializer(many=True, required=False, max_length=200)
    narrative = serializers.CharField(max_length=10000, required=False, allow_blank=True)
    amount_spent = AmountField(required=False, min_value=0)
    final = StrictBooleanField(default=False)

    def validate_amount_for(self, need, attrs):
        if attrs.get("amount_spent"):
            attrs["amount_spent"] = validate_amount_for_currency(
                attrs["amount_spent"], need.currency.minor_unit, field="amount_spent"
            )
        return attrs


class EvidenceUploadSerializer(StrictSerializer):
    file = serializers.FileField()


# An organization's funding (apps.reports.funding.organization_funding builds it as plain data):
# these serializers document its shape for the schema, so that clients get typed objects.


class FundingByNeedSerializer(serializers.Serializer):
    need = serializers.UUIDField()
    title = serializers.CharField()
    currency = serializers.CharField()
    expected = MoneyField(help_text="Committed to the need.")
    received = MoneyField(help_text="Received, net of refunds.")
    refunded = MoneyField()
    spent = MoneyField(help_text="As delivery reports account for it.")


class FundingByDonorSerializer(serializers.Serializer):
    donor = serializers.CharField(help_text='Its name, or "anonymous donor".')
    currency = serializers.CharField()
    expected = MoneyField()
    received = MoneyField()
    refunded = MoneyField()


class RecurringMonthSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM (Asia/Kabul).")
    currency = serializers.CharField()
    amount = MoneyField(help_text="Expected from active recurring pledges earmarked to you.")


class RecurringScheduleSerializer(serializers.Serializer):
    donor = serializers.CharField(help_text='Its name, or "anonymous donor".')
    currency = serializers.CharField()
    amount = MoneyField(help_text="Each occurrence's amount.")
    interval = serializers.CharField()
    next_due_at = serializers.DateTimeField(allow_null=True)


class RecurringBroughtInSerializer(serializers.Serializer):
    currency = serializers.CharField()
    expected = MoneyField(help_text="Committed from pledges that recurring pledges made.")
    received = MoneyField(help_text="Received, net of refunds.")
    refunded = MoneyField()


class RecurringFundingSerializer(serializers.Serializer):
    expected_by_month = RecurringMonthSerializer(many=True)
    schedules = RecurringScheduleSerializer(many=True)
    brought_in = RecurringBroughtInSerializer(many=True)


class OrganizationFundingSerializer(serializers.Serializer):
    """Money expected (committed), received (net of refunds), refunded and spent, by need and by
    donor, each in the need's currency."""

    organization = serializers.UUIDField()
    by_need = FundingByNeedSerializer(many=True)
    by_donor = FundingByDonorSerializer(many=True)
    recurring = RecurringFundingSerializer(
        help_text="Active recurring pledges earmarked to the organization or one of its needs: "
        "expected income per month (next 12 months) and what they brought in so far."
    )
