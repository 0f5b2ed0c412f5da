from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response

from aidmatch.fx import RATE_QUANTUM
from apps.core.idempotency import idempotent
from apps.core.problems import PROBLEM_CONTENT_TYPE
from apps.core.tabular import TabularListMixin
from apps.fx import selectors, services
from apps.fx.api.serializers import (
    ConversionSerializer,
    ConvertQuerySerializer,
    ExchangeRateCreateSerializer,
    ExchangeRateSerializer,
)
from apps.fx.filters import ExchangeRateFilterSet
from apps.organizations.access import is_verifier


class ReadSignedInRecordVerifiers(BasePermission):
    """Anyone signed in (a user or an API key) reads rates; only verifiers record them."""

    message = gettext_lazy("Only verifiers record exchange rates.")

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or is_verifier(request)


@extend_schema_view(
    list=extend_schema(summary="List exchange-rate snapshots"),
    retrieve=extend_schema(summary="One exchange-rate snapshot"),
    create=extend_schema(
        summary="Record an exchange-rate snapshot (verifiers)",
        description=(
            "Snapshots are immutable: there is no PATCH or DELETE. A correction is a new "
            "snapshot with a later date or another source; the same base, quote, date and "
            "source twice is a 409. Honours Idempotency-Key."
        ),
        request=ExchangeRateCreateSerializer,
        responses={201: ExchangeRateSerializer},
    ),
)
class ExchangeRateViewSet(
    TabularListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Dated exchange-rate snapshots (1 base = rate quote). Conversion on a day uses the latest
    snapshot on or before it, its inverse, or a cross rate through USD, rounded down."""

    serializer_class = ExchangeRateSerializer
    permission_classes = [ReadSignedInRecordVerifiers]
    filterset_class = ExchangeRateFilterSet
    ordering_fields = ["date", "created_at"]
    ordering = ["-date", "-id"]
    http_method_names = ["get", "post", "head", "options"]
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.exchange_rates()

    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = ExchangeRateCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        snapshot = services.exchange_rate_create(
            base=data["base"].code,
            quote=data["quote"].code,
            rate=data["rate"],
            date=data["date"],
            source=data["source"],
            created_by=request.user,
        )
        snapshot.refresh_from_db()  # the rate as stored (10 places)
        return Response(ExchangeRateSerializer(snapshot).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Convert an amount on a day",
        parameters=[ConvertQuerySerializer],
        responses={
            200: ConversionSerializer,
            (422, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                response={"$ref": "#/components/schemas/Problem"},
                description="No exchange rate converts the pair on that day.",
            ),
        },
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def convert(self, request):
        query = ConvertQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        base, quote = query.validated_data["base"], query.validated_data["quote"]
        amount = query.validated_data["amount"]
        on = query.validated_data.get("on") or timezone.now().date()
        converted, used = selectors.convert(amount=amount, base=base.code, quote=quote.code, on=on)
        body = {
            "amount": amount,
            "base": base,
            "quote": quote,
            "on": on,
            "converted_amount": converted,
            "rate": str(used.rate.quantize(RATE_QUANTUM)),
            "rate_date": used.date,
            "rate_source": used.source,
            "source": used.source,
            "date": used.date,
        }
        return Response(ConversionSerializer(body).data)
