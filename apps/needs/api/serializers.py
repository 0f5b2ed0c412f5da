"""Needs over the API, in three levels of detail (see selectors.Detail) and one input shape."""

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext
from rest_framework import serializers

from aidmatch.money import format_money
from apps.audit.reads import ConfidentialReadMixin
from apps.core.money import AmountField, MoneyField, validate_amount_for_currency
from apps.core.partner import (
    CreatorMetadataField,
    CreatorReferenceField,
    ExternalReferenceField,
    MetadataField,
)
from apps.core.serializers import (
    CalledCharField,
    DateTimeOutField,
    LeanOutputMixin,
    PrefetchedListSerializer,
    StrictSerializer,
)
from apps.needs.models import Need, NeedLineItem
from apps.reference.models import Currency, District, Province, Sector


class LineItemSerializer(StrictSerializer):
    description = serializers.CharField(max_length=300)
    unit = serializers.CharField(max_length=50, required=False, allow_blank=True)
    unit_cost = AmountField()
    quantity = serializers.IntegerField(min_value=1, max_value=10_000_000)


class LineItemOutSerializer(LeanOutputMixin, serializers.ModelSerializer):
    unit_cost = MoneyField(currency_field="need.currency_id")
    amount = MoneyField(currency_field="need.currency_id")

    class Meta:
        model = NeedLineItem
        fields = ["description", "unit", "unit_cost", "quantity", "amount"]
        read_only_fields = fields
        list_serializer_class = PrefetchedListSerializer


class OrganizationRefSerializer(LeanOutputMixin, serializers.Serializer):
    id = serializers.UUIDField()
    name = CalledCharField(source="public_name")


class NeedPublicSerializer(LeanOutputMixin, serializers.ModelSerializer):
    """Anyone: no title, no description, no district, no organization."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: DateTimeOutField,
    }

    sector = serializers.CharField(source="sector_id")
    province = serializers.CharField(source="province_id")
    currency = serializers.CharField(source="currency_id")
    amount = MoneyField(currency_field="currency_id")
    funded_amount = MoneyField(source="committed_amount", currency_field="currency_id")
    remaining_amount = MoneyField(currency_field="currency_id")
    percent_funded = serializers.SerializerMethodField()

    class Meta:
        model = Need
        fields = [
            "id",
            "status",
            "sector",
            "province",
            "amount",
            "currency",
            "funded_amount",
            "remaining_amount",
            "percent_funded",
            "urgency",
            "deadline",
            "created_at",
        ]
        read_only_fields = fields

    def get_percent_funded(self, obj) -> str:
        if not obj.amount:
            return "0.0"
        return str((obj.committed_amount * 100 / obj.amount).quantize(Decimal("0.1")))


class NeedRestrictedSerializer(NeedPublicSerializer):
    """Signed-in callers: also the title, description, district and organization (its
    pseudonym when sensitive; a sensitive organization's needs show no district)."""

    organization = OrganizationRefSerializer()
    district = serializers.SerializerMethodField()
    committed_amount = MoneyField(currency_field="currency_id")
    disbursed_amount = MoneyField(currency_field="currency_id")
    line_items = LineItemOutSerializer(many=True, read_only=True)

    class Meta(NeedPublicSerializer.Meta):
        fields = [
            *NeedPublicSerializer.Meta.fields,
            "title",
            "description",
            "district",
            "organization",
            "committed_amount",
            "disbursed_amount",
            "beneficiaries_women",
            "beneficiaries_girls",
            "beneficiaries_men",
            "beneficiaries_boys",
            "line_items",
        ]
        read_only_fields = fields

    def get_district(self, obj) -> str | None:
        if obj.organization.sensitive:
            return None
        return obj.district_id


class NeedFullSerializer(ConfidentialReadMixin, NeedRestrictedSerializer):
    """The organization's own members and verifiers: everything, confidential included (a
    response with the exact location is an audited read)."""

    confidential_fields = ("location_detail",)

    proposed_amount = MoneyField(currency_field="currency_id")
    organization_name = serializers.CharField(source="organization.name")
    # the organization's own (its members and keys; absent for verifiers): see apps.core.partner
    metadata = CreatorMetadataField()
    external_reference = CreatorReferenceField()

    class Meta(NeedRestrictedSerializer.Meta):
        fields = [
            *NeedRestrictedSerializer.Meta.fields,
            "organization_name",
            "location_detail",
            "proposed_amount",
            "version",
            "submitted_at",
            "approved_at",
            "updated_at",
            "metadata",
            "external_reference",
        ]
        read_only_fields = fields

    def get_district(self, obj) -> str | None:
        return obj.district_id


class NeedInputSerializer(StrictSerializer):
    """Create (all required but district, location, beneficiaries, line items) or edit."""

    organization = serializers.UUIDField(
        required=False, help_text="Which of your organizations; implied for API keys."
    )
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    sector = serializers.SlugRelatedField(slug_field="code", queryset=Sector.objects.all())
    province = serializers.SlugRelatedField(slug_field="pcode", queryset=Province.objects.all())
    district = serializers.SlugRelatedField(
        slug_field="pcode", queryset=District.objects.all(), required=False, allow_null=True
    )
    location_detail = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    beneficiaries_women = serializers.IntegerField(
        min_value=0, max_value=10_000_000, required=False
    )
    beneficiaries_girls = serializers.IntegerField(
        min_value=0, max_value=10_000_000, required=False
    )
    beneficiaries_men = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False)
    beneficiaries_boys = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False)
    amount = AmountField(required=False)
    currency = serializers.SlugRelatedField(slug_field="code", queryset=Currency.objects.all())
    urgency = serializers.IntegerField(min_value=1, max_value=5)
    deadline = serializers.DateField()
    line_items = LineItemSerializer(many=True, required=False, max_length=200)
    metadata = MetadataField()
    external_reference = ExternalReferenceField()

    def validate(self, attrs):
        instance: Need | None = self.instance
        currency = attrs.get("currency") or (instance.currency if instance else None)
        province = attrs.get("province") or (instance.province if instance else None)
        district = attrs.get("district", instance.district if instance else None)
        if district is not None and province is not None and district.province_id != province.pk:
            raise serializers.ValidationError(
                {"district": [gettext("Not a district of this province.")]}
            )
        line_items = attrs.get("line_items")
        if currency is not None:
            if "amount" in attrs:
                attrs["amount"] = validate_amount_for_currency(attrs["amount"], currency.minor_unit)
            for i, item in enumerate(line_items or []):
                item["unit_cost"] = validate_amount_for_currency(
                    item["unit_cost"], currency.minor_unit, field=f"line_items.{i}.unit_cost"
                )
        if line_items:
            total = sum(li["unit_cost"] * li["quantity"] for li in line_items)
            if "amount" in attrs and attrs["amount"] != total:
                shown = format_money(total, currency) if currency else total
                raise serializers.ValidationError(
                    {
                        "amount": [
                            gettext("With line items the amount is their sum, %(total)s; omit it.")
                            % {"total": shown}
                        ]
                    }
                )
            if total > Decimal("99999999999999"):
                raise serializers.ValidationError(
                    {"line_items": [gettext("The total is too large.")]}
                )
        elif instance is None and "amount" not in attrs:
            raise serializers.ValidationError(
                {"amount": [gettext("Give an amount or line items.")]}
            )
        return attrs
