"""Screening, for verifiers: hits (list, read, clear as a false positive or confirm, which
rejects) and the loaded list versions. Anyone else gets 404, as for anything they may not see."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from apps.core.permissions import UsersOnly
from apps.core.tabular import TabularListMixin
from apps.organizations.access import is_verifier
from apps.organizations.api.vetting import ReasonSerializer
from apps.screening import selectors, services
from apps.screening.api.serializers import SanctionsListSerializer, ScreeningHitSerializer
from apps.screening.filters import SanctionsListFilterSet, ScreeningHitFilterSet
from apps.screening.models import SanctionsList, ScreeningHit


@extend_schema(tags=["screening"])
class ScreeningHitViewSet(
    TabularListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    permission_classes = [UsersOnly]
    serializer_class = ScreeningHitSerializer
    filterset_class = ScreeningHitFilterSet
    ordering_fields = ["created_at", "score"]
    ordering = ["-created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ScreeningHit.objects.none()
        if not is_verifier(self.request):
            raise NotFound()
        return selectors.screening_hits()

    def _decide(self, request, pk, decide):
        hit = get_object_or_404(self.get_queryset(), pk=pk)
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        decide(hit_id=hit.pk, verifier=request.user, reason=serializer.validated_data["reason"])
        hit = selectors.screening_hits().get(pk=hit.pk)
        return Response(ScreeningHitSerializer(hit, context=self.get_serializer_context()).data)

    @extend_schema(request=ReasonSerializer, responses=ScreeningHitSerializer)
    @action(detail=True, methods=["post"])
    def clear(self, request, pk=None):
        """A false positive; with no open hit left the organization returns to its status
        before screening (pending or verified)."""
        return self._decide(request, pk, services.screening_hit_clear)

    @extend_schema(request=ReasonSerializer, responses=ScreeningHitSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        """A true match: the organization is rejected."""
        return self._decide(request, pk, services.screening_hit_confirm)


@extend_schema(tags=["screening"])
class SanctionsListViewSet(
    TabularListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The versions of the sanctions lists loaded (UN, OFAC, EU, UK): the active one of each
    source is what screening uses now; older ones are the versions they replaced."""

    permission_classes = [UsersOnly]
    serializer_class = SanctionsListSerializer
    filterset_class = SanctionsListFilterSet
    ordering_fields = ["loaded_at", "source"]
    ordering = ["-loaded_at", "-pk"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SanctionsList.objects.none()
        if not is_verifier(self.request):
            raise NotFound()
        return selectors.sanctions_lists()
