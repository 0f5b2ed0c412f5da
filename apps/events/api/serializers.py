from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aidmatch.events import EventType
from apps.events.filters import RESOURCE_TYPES
from apps.events.reads import note_confidential_reads
from apps.events.services import envelope


class EventResourceSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=RESOURCE_TYPES)
    id = serializers.CharField()


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "description": (
            "The resource as the caller may see it when the event happened: the same object "
            "the API returns for it to the caller (a need, pledge, allocation, disbursement, "
            "report or organization, by `resource.type`)."
        ),
    }
)
class EventDataField(serializers.DictField):
    pass


class EventSerializer(serializers.Serializer):
    """One event as its audience sees it (the feed's items and the webhooks' bodies alike)."""

    id = serializers.CharField(help_text="evt_…: the same on every delivery; deduplicate by it.")
    type = serializers.ChoiceField(choices=[t.value for t in EventType])
    occurred_at = serializers.DateTimeField()
    position = serializers.IntegerField(
        help_text="The event's place in the outbox: increasing in commit order."
    )
    resource = EventResourceSerializer()
    data = EventDataField()

    def to_representation(self, instance):
        body = envelope(instance, self.context["audience_of"](instance))
        note_confidential_reads(body)
        return body
