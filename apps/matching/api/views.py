from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from aidmatch.access import Scope
from apps.core.idempotency import idempotent
from apps.core.permissions import ScopedForApiKeys
from apps.matching import selectors
from apps.matching.api.serializers import AllocationSerializer
from apps.matching.filters import AllocationFilterSet
from apps.matching.services import allocations as services


class AllocationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Allocations, each with the explanation of why it was proposed."""

    serializer_class = AllocationSerializer
    permission_classes = [ScopedForApiKeys]
    filterset_class = AllocationFilterSet
    ordering = "-proposed_at"
    ordering_fields = ["proposed_at", "commit_deadline"]
    required_scopes = {
        "list": Scope.ALLOCATIONS_READ,
        "retrieve": Scope.ALLOCATIONS_READ,
        "commit": Scope.ALLOCATIONS_WRITE,
        "decline": Scope.ALLOCATIONS_WRITE,
    }

    def get_queryset(self):
        return selectors.allocations_visible_to(self.request)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "viewer_id": self.request.user.pk}

    def _respond(self, allocation):
        allocation = self.get_queryset().get(pk=allocation.pk)
        return Response(self.get_serializer(allocation).data)

    @extend_schema(request=None, responses=AllocationSerializer, summary="Commit (the donor)")
    @idempotent
    @action(detail=True, methods=["post"])
    def commit(self, request, pk=None):
        allocation = self.get_object()
        return self._respond(
            services.allocation_commit(allocation_id=allocation.pk, actor=request.user)
        )

    @extend_schema(request=None, responses=AllocationSerializer, summary="Decline (the donor)")
    @idempotent
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        allocation = self.get_object()
        return self._respond(
            services.allocation_decline(allocation_id=allocation.pk, actor=request.user)
        )
