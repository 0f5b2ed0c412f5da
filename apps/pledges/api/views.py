from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from aidmatch.access import Scope
from apps.core import partner
from apps.core.idempotency import idempotent
from apps.core.money import validate_amount_for_currency
from apps.core.permissions import ScopedForApiKeys
from apps.core.tabular import TabularListMixin
from apps.pledges import selectors, services
from apps.pledges.api.donor import DonorResourceMixin
from apps.pledges.api.serializers import (
    PledgeCreateSerializer,
    PledgeSerializer,
    PledgeTraceSerializer,
    PledgeUpdateSerializer,
)
from apps.pledges.filters import PledgeFilterSet
from apps.pledges.models import Pledge
from apps.pledges.trace import pledge_trace


@extend_schema_view(
    create=extend_schema(request=PledgeCreateSerializer, responses={201: PledgeSerializer}),
    partial_update=extend_schema(request=PledgeUpdateSerializer, responses=PledgeSerializer),
)
class PledgeViewSet(
    DonorResourceMixin,
    TabularListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = output_serializer = PledgeSerializer
    create_serializer = PledgeCreateSerializer
    permission_classes = [ScopedForApiKeys]
    filterset_class = PledgeFilterSet
    ordering_fields = ["created_at", "expires_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    required_scopes = {
        "list": Scope.PLEDGES_READ,
        "retrieve": Scope.PLEDGES_READ,
        "create": Scope.PLEDGES_WRITE,
        "partial_update": Scope.PLEDGES_WRITE,
        "withdraw": Scope.PLEDGES_WRITE,
        "trace": Scope.PLEDGES_READ,
    }

    queryset = Pledge.objects.none()  # the model, for the schema; get_queryset filters

    def get_queryset(self):
        return selectors.pledges_visible_to(self.request)

    @idempotent
    def create(self, request, *args, **kwargs):
        return self._create(request, services.pledge_create)

    @idempotent
    def partial_update(self, request, pk=None, *args, **kwargs):
        pledge = self._visible()
        serializer = PledgeUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        fields = {name: data.pop(name) for name in partner.FIELDS if name in data}
        if "amount" in data:
            data["amount"] = validate_amount_for_currency(
                data["amount"], pledge.currency.minor_unit
            )
        pledge = services.pledge_update(
            pledge_id=pledge.pk, actor=request.user, amount=data.get("amount"), **fields
        )
        return self._respond(pledge)

    @extend_schema(
        request=None,
        responses=PledgeTraceSerializer,
        summary="Follow the pledge's money to delivery reports",
    )
    @action(detail=True, methods=["get"])
    def trace(self, request, pk=None):
        return Response(pledge_trace(self.get_object()))

    @extend_schema(request=None, responses=PledgeSerializer)
    @idempotent
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        pledge = services.pledge_withdraw(pledge_id=self._visible().pk, actor=request.user)
        return self._respond(pledge)
