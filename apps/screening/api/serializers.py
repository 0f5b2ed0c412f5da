from rest_framework import serializers

from apps.audit.reads import ConfidentialReadMixin
from apps.core.schema import documented_json
from apps.screening.models import SanctionsList, ScreeningHit


class ListedEntrySerializer(serializers.Serializer):
    """What the list says about the matched entry (public information)."""

    ref = serializers.CharField()
    kind = serializers.CharField()
    primary_name = serializers.CharField()
    names = serializers.SerializerMethodField()
    birth_dates = serializers.SerializerMethodField()
    nationalities = serializers.SerializerMethodField()
    programs = serializers.SerializerMethodField()

    def get_names(self, obj) -> list[str]:
        return [n[0] for n in obj.data.get("names", [])]

    def get_birth_dates(self, obj) -> list[str]:
        return list(obj.data.get("birth_dates", []))

    def get_nationalities(self, obj) -> list[str]:
        return list(obj.data.get("nationalities", []))

    def get_programs(self, obj) -> list[str]:
        return list(obj.data.get("programs", []))


class ScreeningHitSerializer(ConfidentialReadMixin, serializers.ModelSerializer):
    """A hit, for verifiers only. ``subject`` is the screened name: for a principal it is
    confidential (an audited read)."""

    reasons = documented_json(serializers.ListField(child=serializers.CharField()))

    confidential_fields = ("subject",)
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    organization_status = serializers.CharField(source="organization.status", read_only=True)
    resolution = serializers.SerializerMethodField()
    resolved_by = serializers.EmailField(
        source="resolved_by.email", default=None, read_only=True, allow_null=True
    )
    entry = ListedEntrySerializer(read_only=True, allow_null=True)

    class Meta:
        model = ScreeningHit
        fields = [
            "id",
            "organization",
            "organization_name",
            "organization_status",
            "subject_kind",
            "subject",
            "source",
            "list_version",
            "entry_ref",
            "matched_name",
            "score",
            "reasons",
            "entry",
            "resolution",
            "resolution_reason",
            "resolved_by",
            "resolved_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_resolution(self, obj) -> str:
        return obj.resolution or "open"


class SanctionsListSerializer(serializers.ModelSerializer):
    """A loaded version of a list: which file (its own date or version and SHA-256), when it
    was loaded and by whom (none when loaded with manage.py), how many entries, and whether it
    is the one screening uses now."""

    source_name = serializers.CharField(source="get_source_display", read_only=True)
    loaded_by = serializers.EmailField(
        source="loaded_by.email", default=None, read_only=True, allow_null=True
    )

    class Meta:
        model = SanctionsList
        fields = [
            "id",
            "source",
            "source_name",
            "version",
            "file_sha256",
            "entry_count",
            "active",
            "loaded_at",
            "loaded_by",
        ]
        read_only_fields = fields
