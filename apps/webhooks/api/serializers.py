from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext
from rest_framework import serializers

from aidmatch.events import EventType
from apps.core.serializers import StrictSerializer
from apps.webhooks.models import DeliveryAttempt, OwnerKind, WebhookEndpoint

EVENT_TYPE_CHOICES = sorted(t.value for t in EventType)


def validate_endpoint_url(value: str) -> str:
    parts = urlsplit(value)
    allowed = ("https", "http") if settings.WEBHOOKS_ALLOW_HTTP else ("https",)
    if parts.scheme not in allowed:
        raise serializers.ValidationError(gettext("Use an https:// URL."))
    if parts.username or parts.password:
        raise serializers.ValidationError(gettext("Credentials in the URL are not allowed."))
    if not parts.hostname:
        raise serializers.ValidationError(gettext("The URL needs a host."))
    return value


class EventTypesField(serializers.ListField):
    child = serializers.ChoiceField(choices=EVENT_TYPE_CHOICES)

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", len(EVENT_TYPE_CHOICES))
        kwargs.setdefault(
            "help_text", "The event types sent to this endpoint; empty or absent: every type."
        )
        super().__init__(**kwargs)


class WebhookEndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPE_CHOICES), read_only=True
    )
    owner_kind = serializers.ChoiceField(choices=OwnerKind.choices, read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "enabled",
            "disabled_reason",
            "disabled_at",
            "owner_kind",
            "organization",
            "user",
            "previous_secret_expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret (whsec_…). Shown only here: at creation and rotation.",
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointCreateSerializer(StrictSerializer):
    url = serializers.URLField(max_length=2000, validators=[validate_endpoint_url])
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    event_types = EventTypesField(required=False)
    organization = serializers.UUIDField(
        required=False,
        help_text="For an organization's endpoint, created by one of its admins (an API key's "
        "endpoints are its organization's).",
    )


class WebhookEndpointUpdateSerializer(StrictSerializer):
    url = serializers.URLField(max_length=2000, validators=[validate_endpoint_url], required=False)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    event_types = EventTypesField(required=False)


class WebhookEndpointDisableSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


class WebhookDeliveryAttemptSerializer(serializers.ModelSerializer):
    delivery_id = serializers.IntegerField(source="delivery.id", read_only=True)
    event_id = serializers.CharField(source="delivery.event.public_id", read_only=True)
    event_type = serializers.CharField(source="delivery.event.type", read_only=True)
    delivery_status = serializers.CharField(source="delivery.status", read_only=True)
    attempt = serializers.IntegerField(source="number", read_only=True)

    class Meta:
        model = DeliveryAttempt
        fields = [
            "id",
            "delivery_id",
            "event_id",
            "event_type",
            "attempt",
            "attempted_at",
            "status_code",
            "duration_ms",
            "succeeded",
            "error",
            "delivery_status",
        ]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.Serializer):
    """A delivery queued by a test or a resend."""

    id = serializers.IntegerField()
    event_id = serializers.CharField(source="event.public_id")
    event_type = serializers.CharField(source="event.type")
    status = serializers.CharField()
    next_attempt_at = serializers.DateTimeField()
