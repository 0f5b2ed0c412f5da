import django_filters

from aidmatch.events import EventType, resource_of
from apps.events.models import Event

RESOURCE_TYPES = sorted({resource_of(t.value) for t in EventType})


class EventTypeInFilter(django_filters.BaseInFilter, django_filters.ChoiceFilter):
    """One type or several, comma-separated; each must be a known type."""


class EventFilterSet(django_filters.FilterSet):
    type = EventTypeInFilter(
        choices=[(t.value, t.value) for t in EventType],
        help_text="One event type or several, comma-separated (e.g. "
        "allocation.proposed,allocation.committed).",
    )
    resource_type = django_filters.ChoiceFilter(
        choices=[(r, r) for r in RESOURCE_TYPES], help_text="e.g. pledge, allocation"
    )
    resource_id = django_filters.CharFilter(max_length=64, help_text="The resource's id.")

    class Meta:
        model = Event
        fields = ["type", "resource_type", "resource_id"]
