from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aidmatch.disbursing import Channel
from apps.core.money import AmountField, MoneyField, money_str, validate_amount_for_currency
from apps.core.partner import (
    CreatorMetadataField,
    CreatorReferenceField,
    ExternalReferenceField,
    MetadataField,
)
from apps.core.serializers import StrictSerializer
from apps.disbursements.models import Disbursement, DisbursementLine, Refund
from apps.organizations.access import is_donor_side
from apps.reference.models import Currency


class LineSerializer(serializers.ModelSerializer):
    """One allocation's share of a tranche: in the tranche's currency and in the need's."""

    allocation = serializers.UUIDField(source="allocation_id")
    amount = MoneyField(currency_field="disbursement.currency")
    need_amount = MoneyField(currency_field="allocation.need.currency")

    class Meta:
        model = DisbursementLine
        fields = ["allocation", "amount", "need_amount"]
        read_only_fields = fields


class RefundSerializer(serializers.ModelSerializer):
    """Money the receiving organization gave back after receipt."""

    disbursement = serializers.UUIDField(source="disbursement_id")
    amount = MoneyField()
    currency = serializers.CharField(source="currency_id")

    class Meta:
        model = Refund
        fields = ["id", "disbursement", "amount", "currency", "reason", "refund_date", "created_at"]
        read_only_fields = fields


class DisbursementSerializer(serializers.ModelSerializer):
    organization = serializers.UUIDField(source="organization_id")
    currency = serializers.CharField(source="currency_id")
    amount = MoneyField()
    fee_amount = MoneyField()
    received_amount = MoneyField(currency_field="received_currency", allow_null=True)
    expected_received_amount = MoneyField(currency_field="received_currency", allow_null=True)
    received_currency = serializers.CharField(source="received_currency_id", allow_null=True)
    lines = LineSerializer(many=True)
    refunded_amount = serializers.SerializerMethodField()
    refunds = RefundSerializer(many=True)
    # the donor's side only (absent for the receiving organization and verifiers)
    metadata = CreatorMetadataField()
    external_reference = CreatorReferenceField()
    is_creator = staticmethod(is_donor_side)  # donors schedule tranches

    class Meta:
        model = Disbursement
        fields = [
            "id",
            "status",
            "organization",
            "amount",
            "currency",
            "fee_amount",
            "channel",
            "provider",
            "reference",
            "planned_date",
            "value_date",
            "received_amount",
            "received_currency",
            "received_date",
            "expected_received_amount",
            "difference_reason",
            "refunded_amount",
            "refunds",
            "failure_reason",
            "lines",
            "sent_at",
            "received_at",
            "closed_at",
            "flagged_unconfirmed_at",
            "created_at",
            "metadata",
            "external_reference",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_refunded_amount(self, obj) -> str | None:
        """Refunded so far, in the received currency (null before receipt)."""
        if obj.received_currency is None:
            return None
        return money_str(obj.refunded_amount, obj.received_currency.minor_unit)


class DisbursementCreateSerializer(StrictSerializer):
    allocations = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=100)
    amount = AmountField()
    currency = serializers.SlugRelatedField(slug_field="code", queryset=Currency.objects.all())
    fee_amount = AmountField(required=False, min_value=0)
    channel = serializers.ChoiceField(choices=[c.value for c in Channel])
    provider = serializers.CharField(max_length=200, required=False, allow_blank=True)
    reference = serializers.CharField(max_length=200, required=False, allow_blank=True)
    planned_date = serializers.DateField(required=False, allow_null=True)
    metadata = MetadataField()
    external_reference = ExternalReferenceField()

    def validate(self, attrs):
        minor = attrs["currency"].minor_unit
        attrs["amount"] = validate_amount_for_currency(attrs["amount"], minor)
        if attrs.get("fee_amount"):
            attrs["fee_amount"] = validate_amount_for_currency(
                attrs["fee_amount"], minor, field="fee_amount"
            )
        return attrs


class DisbursementUpdateSerializer(StrictSerializer):
    """What PATCH changes on a tranche: the donor's own fields (the rest moves by actions)."""

    metadata = MetadataField()
    external_reference = ExternalReferenceField()

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                {"non_field_errors": [gettext("Send metadata or external_reference.")]}
            )
        return attrs


class MarkSentSerializer(StrictSerializer):
    value_date = serializers.DateField(required=False)


class ConfirmReceiptSerializer(StrictSerializer):
    received_amount = AmountField(min_value=0)
    received_currency = serializers.SlugRelatedField(
        slug_field="code", queryset=Currency.objects.all()
    )
    received_date = serializers.DateField(required=False)
    difference_reason = serializers.CharField(max_length=500, required=False, allow_blank=True)

    def validate(self, attrs):
        attrs["received_amount"] = validate_amount_for_currency(
            attrs["received_amount"], attrs["received_currency"].minor_unit, field="received_amount"
        )
        return attrs


class FailureReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500)


class RefundCreateSerializer(StrictSerializer):
    amount = AmountField(help_text="In the currency the tranche was received in")
    currency = serializers.SlugRelatedField(slug_field="code", queryset=Currency.objects.all())
    reason = serializers.CharField(max_length=500)
    refund_date = serializers.DateField(
        required=False, help_text="Default: today in the organization's time zone"
    )

    def validate(self, attrs):
        attrs["amount"] = validate_amount_for_currency(
            attrs["amount"], attrs["currency"].minor_unit
        )
        return attrs
