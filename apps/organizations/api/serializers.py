from django.utils import timezone
from django.utils.translation import gettext
from rest_framework import serializers

from aidmatch.access import ALL_SCOPES
from aidmatch.lifecycle import InvitationStatus
from apps.audit.reads import ConfidentialReadMixin
from apps.core.schema import documented_json
from apps.core.serializers import StrictModelSerializer, StrictSerializer
from apps.organizations.models import ApiKey, Invitation, Membership, Organization
from apps.reference.models import Province


class PrincipalSerializer(StrictSerializer):
    """A director or board member (confidential). Birth year and nationality are optional;
    when given, sanctions screening weighs them against a listed entry's."""

    name = serializers.CharField(max_length=200)
    role = serializers.CharField(max_length=100)
    birth_year = serializers.IntegerField(min_value=1900, max_value=2100, required=False)
    nationality = serializers.CharField(max_length=60, required=False, allow_blank=True)


MAX_ALIASES = 20
MAX_ALIAS_LENGTH = 200


class OrganizationOutsiderSerializer(serializers.ModelSerializer):
    """What signed-in callers outside an organization see: no contacts, no principals, and
    for a sensitive organization its pseudonym instead of its name (and no aliases)."""

    name = serializers.CharField(source="public_name", read_only=True)
    aliases = serializers.ListField(
        source="public_aliases",
        child=serializers.CharField(max_length=MAX_ALIAS_LENGTH),
        max_length=MAX_ALIASES,
        read_only=True,
    )
    province = serializers.SlugRelatedField(slug_field="pcode", read_only=True, allow_null=True)

    class Meta:
        model = Organization
        fields = ["id", "name", "aliases", "kind", "afghan_led", "status", "province", "created_at"]
        read_only_fields = fields


class OrganizationSerializer(ConfidentialReadMixin, StrictModelSerializer):
    """The whole record, for the organization's members and verifiers; also the input shape.
    Each response with contacts or principals is a confidential read (audited)."""

    confidential_fields = (
        "contact_name",
        "contact_email",
        "contact_phone",
        "address",
        "principals",
    )

    province = serializers.SlugRelatedField(
        slug_field="pcode", queryset=Province.objects.all(), required=False, allow_null=True
    )
    principals = PrincipalSerializer(many=True, required=False)
    aliases = serializers.ListField(
        child=serializers.CharField(max_length=MAX_ALIAS_LENGTH),
        max_length=MAX_ALIASES,
        required=False,
        help_text="Other names the organization goes by (former names, acronyms, names in Dari "
        f"or Pashto): at most {MAX_ALIASES}, each screened against the sanctions lists.",
    )
    contact_email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    your_role = serializers.SerializerMethodField()

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "aliases",
            "pseudonym",
            "kind",
            "afghan_led",
            "sensitive",
            "registration_number",
            "registry",
            "iati_org_id",
            "publish_open_data",
            "province",
            "time_zone",
            "status",
            "contact_name",
            "contact_email",
            "contact_phone",
            "address",
            "principals",
            "your_role",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "pseudonym", "status", "your_role", "created_at", "updated_at"]
        extra_kwargs = {
            "afghan_led": {"required": True},
            "iati_org_id": {"max_length": 100},
        }

    def get_your_role(self, obj) -> str | None:
        roles = self.context.get("roles", {})
        return roles.get(obj.pk)

    def validate_aliases(self, value):
        """Trimmed, blank ones dropped, each once (case-insensitive)."""
        out: list[str] = []
        for alias in value:
            alias = " ".join(alias.split())
            if alias and alias.casefold() not in {a.casefold() for a in out}:
                out.append(alias)
        return out

    def validate_principals(self, value):
        if len(value) > 50:
            raise serializers.ValidationError(gettext("At most 50 principals."))
        return [dict(p) for p in value]


class MembershipSerializer(ConfidentialReadMixin, serializers.ModelSerializer):
    """Staff names are confidential: each member shown is an audited read."""

    confidential_fields = ("email", "full_name")
    email = serializers.EmailField(source="user.email", read_only=True)
    full_name = serializers.CharField(source="user.full_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "full_name", "role", "created_at"]
        read_only_fields = fields


class MembershipUpdateSerializer(StrictSerializer):
    role = serializers.ChoiceField(choices=Membership._meta.get_field("role").choices)


class InvitationSerializer(ConfidentialReadMixin, serializers.ModelSerializer):
    """What the organization's admins see of an invitation: the address as they typed it, never
    whether it has an account or whose it is (and never the token). Showing the address is an
    audited read, as for members."""

    confidential_fields = ("email",)
    status = serializers.ChoiceField(
        source="shown_status",
        choices=[s.value for s in InvitationStatus],
        read_only=True,
        help_text="'expired': still pending but past expires_at (it can no longer be accepted).",
    )

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "status", "expires_at", "created_at"]
        read_only_fields = fields


class InvitationCreateSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Membership._meta.get_field("role").choices)


class InvitationTokenSerializer(StrictSerializer):
    token = serializers.CharField(
        max_length=200, trim_whitespace=True, help_text="The token from the invitation email."
    )


class ApiKeySerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="prefix", read_only=True)
    organization = serializers.UUIDField(source="organization_id", read_only=True)
    created_by = serializers.EmailField(
        source="created_by.email", read_only=True, default=None, allow_null=True
    )
    expires_at = serializers.DateTimeField(source="expiry_date", read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(source="created", read_only=True)
    scopes = documented_json(
        serializers.ListField(child=serializers.ChoiceField(sorted(ALL_SCOPES)))
    )

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "organization",
            "scopes",
            "revoked",
            "expires_at",
            "created_at",
            "created_by",
            "last_used_at",
        ]
        read_only_fields = fields


class ApiKeyCreateSerializer(StrictSerializer):
    organization = serializers.UUIDField()
    name = serializers.CharField(max_length=50)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(ALL_SCOPES)), min_length=1, max_length=20
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate_expires_at(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError(gettext("Must be in the future."))
        return value


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once. Send as 'Api-Key <key>'.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields
