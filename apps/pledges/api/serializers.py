from datetime import timedelta

from django.utils.translation import gettext
from rest_framework import serializers

from aidmatch.disbursing import Channel
from aidmatch.lifecycle import AllocationStatus, DisbursementStatus, NeedStatus
from apps.core.money import AmountField, MoneyField, validate_amount_for_currency
from apps.core.partner import (
    CreatorMetadataField,
    CreatorReferenceField,
    ExternalReferenceField,
    MetadataField,
)
from apps.core.serializers import StrictBooleanField, StrictSerializer
from apps.needs.models import Need
from apps.needs.selectors import needs_visible_to
from apps.organizations.access import is_donor_side
from apps.organizations.models import Organization
from apps.organizations.selectors import organizations_visible_to
from apps.pledges.models import Pledge
from apps.reference.api.fields import ReferenceCodeField
from apps.reference.models import Currency, Province, Sector


class PledgeSerializer(serializers.ModelSerializer):
    """A pledge as its donor (and verifiers) see it."""

    currency = serializers.CharField(source="currency_id")
    amount = MoneyField()
    original_amount = MoneyField()
    allocated_amount = MoneyField()
    proposed_amount = MoneyField()
    committed_amount = MoneyField()
    disbursed_amount = MoneyField()
    available_amount = MoneyField()
    earmark_sectors = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    earmark_provinces = serializers.SlugRelatedField(slug_field="pcode", many=True, read_only=True)
    earmark_organization = serializers.UUIDField(source="earmark_organization_id", allow_null=True)
    earmark_need = serializers.UUIDField(source="earmark_need_id", allow_null=True)
    commit_window = serializers.SerializerMethodField()
    schedule = serializers.UUIDField(
        source="schedule_id", allow_null=True, help_text="The recurring pledge that made it."
    )
    # the donor's side only (absent for verifiers)
    metadata = CreatorMetadataField()
    external_reference = CreatorReferenceField()
    is_creator = staticmethod(is_donor_side)  # the donor side created it

    class Meta:
        model = Pledge
        fields = [
            "id",
            "status",
            "amount",
            "currency",
            "original_amount",
            "allocated_amount",
            "proposed_amount",
            "committed_amount",
            "disbursed_amount",
            "available_amount",
            "earmark_sectors",
            "earmark_provinces",
            "earmark_organization",
            "earmark_need",
            "expires_at",
            "commit_window",
            "auto_commit",
            "public_message",
            "anonymous",
            "schedule",
            "schedule_period",
            "created_at",
            "updated_at",
            "metadata",
            "external_reference",
        ]
        read_only_fields = fields

    def get_commit_window(self, obj) -> int:
        """In hours."""
        return int(obj.commit_window.total_seconds() // 3600)


class VisibleRelatedField(serializers.PrimaryKeyRelatedField):
    """A row the caller may see, looked up only when one is named: one hidden from the caller is
    "not found", exactly like one that does not exist (no existence is revealed)."""

    def __init__(self, *, visible_to, **kwargs):
        self.visible_to = visible_to
        super().__init__(**kwargs)

    def get_queryset(self):
        request = self.context.get("request")
        if request is None:
            return super().get_queryset()
        return self.visible_to(request).prefetch_related(None)


class PledgeTermsSerializer(StrictSerializer):
    """What a pledge offers, and a recurring pledge each period: amount, currency, earmarks
    and how its proposals are committed."""

    amount = AmountField()
    currency = ReferenceCodeField(queryset=Currency.objects.all())
    earmark_sectors = ReferenceCodeField(queryset=Sector.objects.all(), many=True, required=False)
    earmark_provinces = ReferenceCodeField(
        queryset=Province.objects.all(), many=True, required=False
    )
    earmark_organization = VisibleRelatedField(
        visible_to=organizations_visible_to,
        queryset=Organization.objects.all(),
        required=False,
        allow_null=True,
    )
    earmark_need = VisibleRelatedField(
        visible_to=needs_visible_to, queryset=Need.objects.all(), required=False, allow_null=True
    )
    commit_window = serializers.IntegerField(
        min_value=1, max_value=24 * 90, required=False, help_text="Hours (default 168: 7 days)."
    )
    auto_commit = StrictBooleanField(required=False, default=False)
    public_message = serializers.CharField(max_length=500, required=False, allow_blank=True)
    anonymous = StrictBooleanField(required=False, default=False)

    def validate_earmark_sectors(self, value):
        if len(value) > 50:
            raise serializers.ValidationError(gettext("At most 50 sectors."))
        return value

    def validate(self, attrs):
        attrs["amount"] = validate_amount_for_currency(
            attrs["amount"], attrs["currency"].minor_unit
        )
        if "commit_window" in attrs:
            attrs["commit_window"] = timedelta(hours=attrs["commit_window"])
        return attrs


class PledgeCreateSerializer(PledgeTermsSerializer):
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    metadata = MetadataField()
    external_reference = ExternalReferenceField()


class PledgeUpdateSerializer(StrictSerializer):
    amount = AmountField(required=False, help_text="A lower amount; never below what is committed.")
    metadata = MetadataField()
    external_reference = ExternalReferenceField()

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError(
                {"non_field_errors": [gettext("Send amount, metadata or external_reference.")]}
            )
        return attrs


# The pledge's trace (apps.pledges.trace.pledge_trace builds it as plain data): these
# serializers document its shape for the schema, so that clients get typed objects.


class TraceNeedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    sector = serializers.CharField()
    province = serializers.CharField()
    district = serializers.CharField(
        allow_null=True, help_text="Null for a sensitive organization's need."
    )
    organization = serializers.CharField(help_text="Its pseudonym when it is sensitive.")
    status = serializers.ChoiceField(choices=[s.value for s in NeedStatus])


class TraceRefundSerializer(serializers.Serializer):
    amount = MoneyField()
    currency = serializers.CharField()
    refund_date = serializers.DateField()
    reason = serializers.CharField(allow_null=True, help_text="Null for a sensitive organization.")


class TraceTrancheSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=[s.value for s in DisbursementStatus])
    channel = serializers.ChoiceField(choices=[c.value for c in Channel])
    amount = MoneyField(help_text="This allocation's part of the tranche (the pledge's currency).")
    need_amount = MoneyField(help_text="The same, in the need's currency.")
    fee_amount = MoneyField()
    received_amount = MoneyField(allow_null=True)
    received_currency = serializers.CharField(allow_null=True)
    sent_at = serializers.DateTimeField(allow_null=True)
    received_date = serializers.DateField(allow_null=True)
    refunded_amount = MoneyField(allow_null=True)
    refunds = TraceRefundSerializer(many=True)


class TraceReachedSerializer(serializers.Serializer):
    women = serializers.IntegerField()
    girls = serializers.IntegerField()
    men = serializers.IntegerField()
    boys = serializers.IntegerField()
    households = serializers.IntegerField()


class TraceReportItemSerializer(serializers.Serializer):
    item = serializers.CharField()
    quantity = serializers.IntegerField()


class TraceReportSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    reached = TraceReachedSerializer()
    items = TraceReportItemSerializer(many=True)
    narrative = serializers.CharField(
        allow_null=True, help_text="Null for a sensitive organization."
    )
    final = serializers.BooleanField(read_only=True)


class TraceAllocationSerializer(serializers.Serializer):
    allocation = serializers.UUIDField()
    status = serializers.ChoiceField(choices=[s.value for s in AllocationStatus])
    amount = MoneyField()
    need_amount = MoneyField()
    need_currency = serializers.CharField()
    need = TraceNeedSerializer()
    tranches = TraceTrancheSerializer(many=True)
    reports = TraceReportSerializer(many=True)


class PledgeTraceSerializer(serializers.Serializer):
    """Where the pledge's money went: each live allocation, its tranches (with any refunds) and
    the delivery reports of the need it funded. Amounts in the pledge's currency unless named
    ``need_…``."""

    pledge = serializers.UUIDField()
    currency = serializers.CharField()
    amount = MoneyField()
    committed_amount = MoneyField()
    disbursed_amount = MoneyField()
    sent_amount = MoneyField()
    received_amount = MoneyField(help_text="Received by the organizations, net of refunds.")
    refunded_amount = MoneyField()
    allocations = TraceAllocationSerializer(many=True)
