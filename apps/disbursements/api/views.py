from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from aidmatch.access import Scope
from apps.core.idempotency import idempotent
from apps.core.permissions import ScopedForApiKeys
from apps.core.serializers import represent
from apps.core.tabular import TabularListMixin
from apps.core.transactions import one_transaction
from apps.disbursements import selectors, services
from apps.disbursements.api.serializers import (
    ConfirmReceiptSerializer,
    DisbursementCreateSerializer,
    DisbursementSerializer,
    DisbursementUpdateSerializer,
    FailureReasonSerializer,
    MarkSentSerializer,
    RefundCreateSerializer,
    RefundSerializer,
)
from apps.disbursements.filters import DisbursementFilterSet
from apps.disbursements.models import Disbursement
from apps.matching.selectors import allocations_visible_to
from apps.organizations.access import member_org_ids


@extend_schema_view(
    create=extend_schema(
        request=DisbursementCreateSerializer, responses={201: DisbursementSerializer}
    ),
    partial_update=extend_schema(
        request=DisbursementUpdateSerializer,
        responses=DisbursementSerializer,
        summary="Set your own metadata and external_reference (the donor's side)",
    ),
)
class DisbursementViewSet(
    TabularListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Tranches from pledge to organization: scheduled → sent → received (failed, returned);
    who may do what in which state: ``aidmatch.lifecycle.TRANCHE_TRANSITIONS``."""

    serializer_class = DisbursementSerializer
    permission_classes = [ScopedForApiKeys]
    filterset_class = DisbursementFilterSet
    ordering_fields = ["created_at", "sent_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    required_scopes = {
        "partial_update": Scope.DISBURSEMENTS_WRITE,
        "list": Scope.DISBURSEMENTS_READ,
        "retrieve": Scope.DISBURSEMENTS_READ,
        "create": Scope.DISBURSEMENTS_WRITE,
        "mark_sent": Scope.DISBURSEMENTS_WRITE,
        "confirm_receipt": Scope.DISBURSEMENTS_WRITE,
        "mark_failed": Scope.DISBURSEMENTS_WRITE,
        "mark_returned": Scope.DISBURSEMENTS_WRITE,
        "refunds": Scope.DISBURSEMENTS_WRITE,
    }

    queryset = Disbursement.objects.none()  # the model, for the schema; get_queryset filters

    def get_queryset(self):
        return selectors.disbursements_visible_to(self.request)

    def _act(self, request, serializer_class, service):
        """An action on this tranche: validate the body, then the service decides under its
        row lock whether this caller may do it in this state."""
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return service(
            disbursement_id=self.get_object().pk,
            actor=request.user,
            acting_for=member_org_ids(request),
            **serializer.validated_data,
        )

    def _respond(self, disbursement, status_code=status.HTTP_200_OK):
        disbursement = self.get_queryset().get(pk=disbursement.pk)
        data = represent(DisbursementSerializer, disbursement, {"request": self.request})
        return Response(data, status=status_code)

    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = DisbursementCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        ids = data.pop("allocations")
        visible = allocations_visible_to(request).filter(pk__in=ids).count()
        if visible != len(set(ids)):
            raise NotFound(gettext("No such allocation."))
        disbursement = services.disbursement_create(actor=request.user, allocation_ids=ids, **data)
        return self._respond(disbursement, status.HTTP_201_CREATED)

    @one_transaction
    def partial_update(self, request, pk=None, *args, **kwargs):
        return self._respond(
            self._act(
                request, DisbursementUpdateSerializer, services.disbursement_set_partner_fields
            )
        )

    @extend_schema(request=MarkSentSerializer, responses=DisbursementSerializer)
    @idempotent
    @action(detail=True, methods=["post"], url_path="mark-sent")
    def mark_sent(self, request, pk=None):
        return self._respond(
            self._act(request, MarkSentSerializer, services.disbursement_mark_sent)
        )

    @extend_schema(request=ConfirmReceiptSerializer, responses=DisbursementSerializer)
    @idempotent
    @action(detail=True, methods=["post"], url_path="confirm-receipt")
    def confirm_receipt(self, request, pk=None):
        return self._respond(
            self._act(request, ConfirmReceiptSerializer, services.disbursement_confirm_receipt)
        )

    @extend_schema(request=FailureReasonSerializer, responses=DisbursementSerializer)
    @idempotent
    @action(detail=True, methods=["post"], url_path="mark-failed")
    def mark_failed(self, request, pk=None):
        return self._respond(
            self._act(request, FailureReasonSerializer, services.disbursement_mark_failed)
        )

    @extend_schema(request=FailureReasonSerializer, responses=DisbursementSerializer)
    @idempotent
    @action(detail=True, methods=["post"], url_path="mark-returned")
    def mark_returned(self, request, pk=None):
        return self._respond(
            self._act(request, FailureReasonSerializer, services.disbursement_mark_returned)
        )

    @extend_schema(request=RefundCreateSerializer, responses={201: RefundSerializer})
    @idempotent
    @action(detail=True, methods=["post"], url_path="refunds")
    def refunds(self, request, pk=None):
        """The receiving organization records money it gave back after receipt."""
        refund = self._act(request, RefundCreateSerializer, services.disbursement_refund)
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)
