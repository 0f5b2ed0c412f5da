from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action

from aidmatch.access import Scope
from apps.core.idempotency import idempotent
from apps.core.money import validate_amount_for_currency
from apps.core.permissions import ScopedForApiKeys
from apps.core.tabular import TabularListMixin
from apps.pledges import schedules, selectors
from apps.pledges.api.donor import DonorResourceMixin
from apps.pledges.api.schedule_serializers import (
    PledgeScheduleCreateSerializer,
    PledgeScheduleSerializer,
    PledgeScheduleUpdateSerializer,
)
from apps.pledges.filters import PledgeScheduleFilterSet
from apps.pledges.models import PledgeSchedule


@extend_schema_view(
    create=extend_schema(
        request=PledgeScheduleCreateSerializer, responses={201: PledgeScheduleSerializer}
    ),
    partial_update=extend_schema(
        request=PledgeScheduleUpdateSerializer, responses=PledgeScheduleSerializer
    ),
)
class PledgeScheduleViewSet(
    DonorResourceMixin,
    TabularListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Recurring pledges: a pledge made every month or quarter (its pledges: GET
    /pledges/?schedule={id}). Seen and changed by its donor as pledges are."""

    serializer_class = output_serializer = PledgeScheduleSerializer
    create_serializer = PledgeScheduleCreateSerializer
    permission_classes = [ScopedForApiKeys]
    filterset_class = PledgeScheduleFilterSet
    ordering_fields = ["created_at", "next_due_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    required_scopes = {
        "list": Scope.PLEDGES_READ,
        "retrieve": Scope.PLEDGES_READ,
        "create": Scope.PLEDGES_WRITE,
        "partial_update": Scope.PLEDGES_WRITE,
        "pause": Scope.PLEDGES_WRITE,
        "resume": Scope.PLEDGES_WRITE,
        "cancel": Scope.PLEDGES_WRITE,
    }

    queryset = PledgeSchedule.objects.none()  # the model, for the schema; get_queryset filters

    def get_queryset(self):
        return selectors.schedules_visible_to(self.request)

    @idempotent
    def create(self, request, *args, **kwargs):
        return self._create(request, schedules.schedule_create)

    @idempotent
    def partial_update(self, request, pk=None, *args, **kwargs):
        schedule = self._visible()
        serializer = PledgeScheduleUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "amount" in data:
            data["amount"] = validate_amount_for_currency(
                data["amount"], schedule.currency.minor_unit
            )
        schedule = schedules.schedule_update(schedule_id=schedule.pk, actor=request.user, **data)
        return self._respond(schedule)

    @extend_schema(request=None, responses=PledgeScheduleSerializer)
    @idempotent
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        schedule = schedules.schedule_pause(schedule_id=self._visible().pk, actor=request.user)
        return self._respond(schedule)

    @extend_schema(request=None, responses=PledgeScheduleSerializer)
    @idempotent
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        schedule = schedules.schedule_resume(schedule_id=self._visible().pk, actor=request.user)
        return self._respond(schedule)

    @extend_schema(request=None, responses=PledgeScheduleSerializer)
    @idempotent
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        schedule = schedules.schedule_cancel(schedule_id=self._visible().pk, actor=request.user)
        return self._respond(schedule)
