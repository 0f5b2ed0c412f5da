from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_noop as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from aidmatch.access import MemberRole, Scope
from aidmatch.errors import NotPermitted
from apps.core.actors import is_api_key
from apps.core.idempotency import idempotent
from apps.core.pagination import CursorPagination
from apps.core.permissions import ScopedForApiKeys
from apps.core.tabular import TabularListMixin
from apps.core.transactions import one_transaction
from apps.organizations.access import member_role
from apps.organizations.models import Organization
from apps.webhooks import selectors, services
from apps.webhooks.api.serializers import (
    WebhookDeliveryAttemptSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreateSerializer,
    WebhookEndpointDisableSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointUpdateSerializer,
    WebhookEndpointWithSecretSerializer,
)
from apps.webhooks.models import Delivery, DeliveryAttempt, OwnerKind, WebhookEndpoint


class AttemptPagination(CursorPagination):
    ordering = "-attempted_at"


@extend_schema_view(
    list=extend_schema(summary="Your webhook endpoints"),
    retrieve=extend_schema(summary="A webhook endpoint"),
    create=extend_schema(
        request=WebhookEndpointCreateSerializer,
        responses={201: WebhookEndpointWithSecretSerializer},
        summary="Subscribe a URL to events (the signing secret is shown once)",
    ),
    partial_update=extend_schema(
        request=WebhookEndpointUpdateSerializer, responses=WebhookEndpointSerializer
    ),
    destroy=extend_schema(summary="Delete a webhook endpoint and its delivery log"),
)
class WebhookEndpointViewSet(
    TabularListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = WebhookEndpointSerializer
    permission_classes = [ScopedForApiKeys]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    queryset = WebhookEndpoint.objects.none()
    tabular_actions = ("list", "deliveries")
    tabular_serializers = {"deliveries": WebhookDeliveryAttemptSerializer}
    required_scopes = {
        "list": Scope.WEBHOOKS_READ,
        "retrieve": Scope.WEBHOOKS_READ,
        "deliveries": Scope.WEBHOOKS_READ,
        "create": Scope.WEBHOOKS_WRITE,
        "partial_update": Scope.WEBHOOKS_WRITE,
        "destroy": Scope.WEBHOOKS_WRITE,
        "rotate_secret": Scope.WEBHOOKS_WRITE,
        "enable": Scope.WEBHOOKS_WRITE,
        "disable": Scope.WEBHOOKS_WRITE,
        "test": Scope.WEBHOOKS_WRITE,
        "resend": Scope.WEBHOOKS_WRITE,
    }

    def get_queryset(self):
        return selectors.endpoints_visible_to(self.request)

    def _owner(self, organization_id) -> dict:
        request = self.request
        if is_api_key(request):
            return {
                "owner_kind": OwnerKind.ORGANIZATION,
                "organization": request.auth.organization,
            }
        if organization_id is not None:
            organization = get_object_or_404(Organization, pk=organization_id)
            if member_role(request, organization.pk) != MemberRole.ADMIN:
                raise NotPermitted(
                    _("Only the organization's admins manage its webhook endpoints.")
                )
            return {"owner_kind": OwnerKind.ORGANIZATION, "organization": organization}
        kind = OwnerKind.VERIFIER if request.user.is_verifier else OwnerKind.DONOR
        return {"owner_kind": kind, "user": request.user}

    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = WebhookEndpointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        owner = self._owner(data.pop("organization", None))
        endpoint = services.endpoint_create(
            **owner,
            created_by=None if is_api_key(request) else request.user,
            **data,
        )
        return Response(
            WebhookEndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )

    @one_transaction
    def partial_update(self, request, *args, **kwargs):
        endpoint = self.get_object()
        serializer = WebhookEndpointUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(endpoint, **serializer.validated_data)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        request=None,
        responses=WebhookEndpointWithSecretSerializer,
        summary="A new signing secret (shown once); the previous one still signs for 24 hours",
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint = services.endpoint_rotate_secret(self.get_object())
        return Response(WebhookEndpointWithSecretSerializer(endpoint).data)

    @extend_schema(request=None, responses=WebhookEndpointSerializer)
    @action(detail=True, methods=["post"])
    def enable(self, request, pk=None):
        endpoint = services.endpoint_enable(self.get_object())
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(request=WebhookEndpointDisableSerializer, responses=WebhookEndpointSerializer)
    @action(detail=True, methods=["post"])
    def disable(self, request, pk=None):
        serializer = WebhookEndpointDisableSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.endpoint_disable(
            self.get_object(), reason=serializer.validated_data.get("reason", "")
        )
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        request=None,
        responses={202: WebhookDeliverySerializer},
        summary="Send a webhook.test event to this endpoint only",
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        delivery = services.endpoint_send_test(self.get_object())
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses=WebhookDeliveryAttemptSerializer(many=True),
        summary="The delivery attempts to this endpoint, newest first",
    )
    @action(detail=True, methods=["get"], pagination_class=AttemptPagination)
    def deliveries(self, request, pk=None):
        endpoint = self.get_object()
        attempts = DeliveryAttempt.objects.filter(endpoint=endpoint).select_related(
            "delivery__event"
        )
        page = self.paginate_queryset(attempts)
        return self.get_paginated_response(WebhookDeliveryAttemptSerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={202: WebhookDeliverySerializer},
        parameters=[OpenApiParameter("delivery_id", int, OpenApiParameter.PATH)],
        summary="Send a delivery's event again (same event id), now",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[0-9]{1,18})/resend",
    )
    def resend(self, request, pk=None, delivery_id=None):
        endpoint = self.get_object()
        delivery = get_object_or_404(Delivery, pk=delivery_id, endpoint=endpoint)
        again = services.delivery_resend(endpoint, delivery)
        return Response(WebhookDeliverySerializer(again).data, status=status.HTTP_202_ACCEPTED)
