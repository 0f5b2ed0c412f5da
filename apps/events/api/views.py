from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets

from aidmatch.access import Scope
from apps.core.pagination import CursorPagination
from apps.core.permissions import ScopedForApiKeys
from apps.core.tabular import TabularListMixin
from apps.events.api.serializers import EventSerializer
from apps.events.filters import EventFilterSet
from apps.events.selectors import audience_of, events_visible_to


class EventPagination(CursorPagination):
    ordering = "position"  # oldest first: a partner replays from where it stopped


@extend_schema_view(
    list=extend_schema(
        summary="Your events, in order",
        description=(
            "The events you may hear about, oldest first, by cursor: a donor's pledges, "
            "allocations, and the tranches and reports of what it funded; an organization's "
            "needs, allocations, tranches, reports and status (and a donor institution's donor "
            "events); everything for verifiers. Each item is what a webhook delivers: `data` "
            "is the resource as you may see it. Kept at least 30 days. API keys need the "
            "`events:read` scope."
        ),
        tags=["events"],
    ),
)
class EventViewSet(TabularListMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [ScopedForApiKeys]
    required_scopes = {"list": Scope.EVENTS_READ}
    serializer_class = EventSerializer
    filterset_class = EventFilterSet
    pagination_class = EventPagination
    ordering_fields = ["position"]
    lookup_value_regex = "evt_[0-9a-f]{32}"

    def get_queryset(self):
        return events_visible_to(self.request)

    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "audience_of": lambda event: audience_of(self.request, event),
        }
