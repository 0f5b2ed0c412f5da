from django.conf import settings
from rest_framework import serializers

from apps.accounts.models import User
from apps.core.serializers import QueryBooleanField, StrictSerializer


class RegisterSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        max_length=128, write_only=True, style={"input_type": "password"}
    )
    full_name = serializers.CharField(max_length=200, required=False, allow_blank=True)


class TokenRequestSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        max_length=128, write_only=True, style={"input_type": "password"}
    )


class TokenRevokeQuerySerializer(serializers.Serializer):
    all = QueryBooleanField(
        required=False, default=False, help_text="true: revoke every token of the user."
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as 'Authorization: Bearer <token>'. Shown once.")
    expires_at = serializers.DateTimeField(allow_null=True)


class MembershipBriefSerializer(serializers.Serializer):
    organization = serializers.UUIDField(source="organization_id")
    organization_name = serializers.CharField(source="organization.name")
    role = serializers.CharField()


class UserSerializer(serializers.ModelSerializer):
    memberships = MembershipBriefSerializer(many=True, read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "full_name",
            "platform_role",
            "language",
            "date_joined",
            "memberships",
        ]
        read_only_fields = fields


class MeUpdateSerializer(StrictSerializer):
    """What a user changes of their own account: the language of their portal and emails
    ("" = not chosen: the browser's for pages, English for emails)."""

    language = serializers.ChoiceField(
        choices=["", *(code for code, _ in settings.LANGUAGES)], allow_blank=True, required=False
    )
