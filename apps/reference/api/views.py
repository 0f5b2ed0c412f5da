"""Reference data, open to anyone: small lists, served whole (no pagination)."""

from rest_framework import viewsets
from rest_framework.permissions import AllowAny

from apps.core.filters import DjangoFilterBackend
from apps.core.tabular import TabularListMixin
from apps.reference.api.serializers import (
    CurrencySerializer,
    DistrictSerializer,
    ProvinceSerializer,
    SectorSerializer,
)
from apps.reference.models import Currency, District, Province, Sector


class ReferenceViewSet(TabularListMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [AllowAny]
    pagination_class = None
    filter_backends = []


class ProvinceViewSet(ReferenceViewSet):
    queryset = Province.objects.all()
    serializer_class = ProvinceSerializer
    lookup_field = "pcode"


class DistrictViewSet(ReferenceViewSet):
    """Districts; ``?province=AF01`` narrows to one province."""

    queryset = District.objects.all()
    serializer_class = DistrictSerializer
    lookup_field = "pcode"
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["province"]


class SectorViewSet(ReferenceViewSet):
    queryset = Sector.objects.all()
    serializer_class = SectorSerializer
    lookup_field = "code"


class CurrencyViewSet(ReferenceViewSet):
    queryset = Currency.objects.all()
    serializer_class = CurrencySerializer
    lookup_field = "code"
