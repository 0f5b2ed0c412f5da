from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.money import money_str
from apps.core.serializers import StrictSerializer
from apps.matching.models import Allocation, MatchRun


@extend_schema_field(OpenApiTypes.STR)
class _Money(serializers.Field):
    def __init__(self, attr: str, side: str, **kwargs):
        self.attr, self.side = attr, side
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, obj):
        currency = getattr(obj, self.side).currency
        return money_str(getattr(obj, self.attr), currency.minor_unit)


class AllocationSerializer(serializers.ModelSerializer):
    pledge = serializers.UUIDField(source="pledge_id")
    need = serializers.UUIDField(source="need_id")
    amount = _Money("amount", "pledge")
    currency = serializers.CharField(source="pledge.currency_id")
    need_amount = _Money("need_amount", "need")
    need_currency = serializers.CharField(source="need.currency_id")
    donor = serializers.SerializerMethodField()
    organization = serializers.SerializerMethodField()

    class Meta:
        model = Allocation
        fields = [
            "id",
            "status",
            "pledge",
            "need",
            "amount",
            "currency",
            "need_amount",
            "need_currency",
            "rate",
            "rate_source",
            "rate_date",
            "explanation",
            "donor",
            "organization",
            "commit_deadline",
            "proposed_at",
            "committed_at",
            "closed_at",
            "close_reason",
        ]
        read_only_fields = fields

    def get_donor(self, obj) -> str:
        """The donor's name, or 'anonymous donor' to anyone but the donor when asked."""
        pledge = obj.pledge
        viewer = self.context.get("viewer_id")
        if pledge.anonymous and pledge.donor_id != viewer:
            return "anonymous donor"
        if pledge.donor is not None:
            return pledge.donor.full_name or "donor"
        return "donor institution"

    def get_organization(self, obj) -> str:
        return obj.need.organization.public_name()


class MatchRunSerializer(serializers.ModelSerializer):
    requested_by = serializers.EmailField(
        source="requested_by.email", default=None, allow_null=True
    )

    class Meta:
        model = MatchRun
        fields = [
            "id",
            "trigger",
            "mode",
            "status",
            "reason",
            "requested_by",
            "attempts",
            "pool_currency",
            "pledges_seen",
            "needs_seen",
            "proposals_before",
            "created",
            "resized",
            "released",
            "kept",
            "skipped_stale",
            "auto_committed",
            "objective",
            "funded_minor",
            "solver",
            "solver_version",
            "stats",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class MatchRunRequestSerializer(StrictSerializer):
    mode = serializers.ChoiceField(choices=MatchRun.Mode.choices, default=MatchRun.Mode.FULL)
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
