from django.db import transaction
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from aidmatch.access import Scope
from apps.core.idempotency import idempotent
from apps.core.permissions import ScopedForApiKeys, UsersOnly
from apps.core.serializers import represent
from apps.core.tabular import TabularListMixin
from apps.matching import selectors
from apps.matching.api.serializers import (
    AllocationSerializer,
    MatchRunRequestSerializer,
    MatchRunSerializer,
)
from apps.matching.filters import AllocationFilterSet, MatchRunFilterSet
from apps.matching.models import Allocation, MatchRun
from apps.matching.services import allocations as services
from apps.matching.services.runs import match_run_request
from apps.matching.tasks import send_run
from apps.organizations.access import is_verifier


class AllocationViewSet(
    TabularListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
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

    queryset = Allocation.objects.none()  # the model, for the schema; get_queryset filters

    def get_queryset(self):
        return selectors.allocations_visible_to(self.request)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "viewer_id": self.request.user.pk}

    def _respond(self, allocation):
        allocation = self.get_queryset().get(pk=allocation.pk)
        return Response(
            represent(self.get_serializer_class(), allocation, self.get_serializer_context())
        )

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


class VerifiersOnly(UsersOnly):
    message = gettext_lazy("Only verifiers see and start matching runs.")

    def has_permission(self, request, view):
        return super().has_permission(request, view) and is_verifier(request)


@extend_schema_view(
    list=extend_schema(summary="Matching runs, newest first (verifiers)"),
    retrieve=extend_schema(summary="One matching run (verifiers)"),
    create=extend_schema(
        summary="Start a matching run (verifiers)",
        request=MatchRunRequestSerializer,
        responses={202: MatchRunSerializer},
    ),
)
class MatchRunViewSet(
    TabularListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """What each run of the matching engine saw and changed; a verifier may start one."""

    serializer_class = MatchRunSerializer
    permission_classes = [VerifiersOnly]
    filterset_class = MatchRunFilterSet
    ordering = "-created_at"
    ordering_fields = ["created_at", "started_at"]

    def get_queryset(self):
        return MatchRun.objects.select_related("requested_by")

    @idempotent
    def create(self, request, *args, **kwargs):
        data = MatchRunRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = match_run_request(
            trigger=MatchRun.Trigger.MANUAL,
            mode=data.validated_data["mode"],
            reason=data.validated_data["reason"],
            by=request.user,
        )
        transaction.on_commit(lambda: send_run(run))
        return Response(self.get_serializer(run).data, status=status.HTTP_202_ACCEPTED)
