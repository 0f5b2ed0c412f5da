from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from aidmatch.events import EventType
from apps.events.filters import RESOURCE_TYPES
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
        _note_confidential_reads(body)
        return body


def _confidential():
    """What the API's serializers call confidential, per resource type (and what in it)."""
    from apps.needs.api.serializers import NeedFullSerializer
    from apps.needs.models import Need
    from apps.organizations.api.serializers import OrganizationSerializer
    from apps.organizations.models import Organization
    from apps.reports.api.serializers import EvidenceSerializer
    from apps.reports.models import EvidenceFile

    return {
        "need": (Need, NeedFullSerializer.confidential_fields),
        "organization": (Organization, OrganizationSerializer.confidential_fields),
        "evidence": (EvidenceFile, EvidenceSerializer.confidential_fields),
    }


def _note_confidential_reads(body: dict) -> None:
    """A feed item showing confidential fields is an audited read, as the API's response
    showing them would be (``apps/audit/reads.py``)."""
    from apps.audit.reads import _revealed, note_confidential_read

    kinds = _confidential()
    data = body["data"]
    shown = [(body["resource"]["type"], data)]
    shown += [("evidence", item) for item in data.get("evidence") or ()]
    for kind, item in shown:
        if kind not in kinds or "id" not in item:
            continue
        model, fields = kinds[kind]
        revealed = [f for f in fields if _revealed(item.get(f))]
        if revealed:
            note_confidential_read(model(pk=item["id"]), revealed)
