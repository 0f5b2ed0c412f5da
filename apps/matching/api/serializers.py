from rest_framework import serializers

from apps.core.money import MoneyField
from apps.core.schema import FREE_FORM_OBJECT, documented_json
from apps.core.serializers import StrictBooleanField, StrictSerializer
from apps.matching.models import Allocation, MatchRun


class AllocationExplanationSerializer(serializers.Serializer):
    """Why matching proposed this allocation (aidmatch.matching.model.explanation)."""

    admitted_by = serializers.CharField(help_text="The pledge's earmark that admitted the need.")
    urgency = serializers.IntegerField(required=False, help_text="The need's urgency, 1-5.")
    deadline = serializers.DateField(required=False, help_text="The need's deadline.")
    weight = serializers.IntegerField(required=False, help_text="The need's weight in the solve.")
    rule = serializers.CharField(required=False, help_text="The rule that ordered it.")
    kept = StrictBooleanField(
        required=False, help_text="Whether a proposal already there was kept."
    )
    run = serializers.UUIDField(required=False, help_text="The match run that proposed it.")
    pool_currency = serializers.CharField(
        required=False, help_text="The currency the run compared amounts in."
    )


class AllocationSerializer(serializers.ModelSerializer):
    pledge = serializers.UUIDField(source="pledge_id")
    need = serializers.UUIDField(source="need_id")
    amount = MoneyField(currency_field="pledge.currency")
    currency = serializers.CharField(source="pledge.currency_id")
    need_amount = MoneyField(currency_field="need.currency")
    need_currency = serializers.CharField(source="need.currency_id")
    explanation = documented_json(AllocationExplanationSerializer)
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
    stats = documented_json(FREE_FORM_OBJECT, help_text="The solver's and the run's figures.")
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
