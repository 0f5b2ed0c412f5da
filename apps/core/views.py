from django.http import JsonResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.permissions import AllowAny

from apps.core.health import health_report


class HealthCheckSerializer(serializers.Serializer):
    """One part's health (apps.core.health): its status, and what that check reports beside it."""

    status = serializers.CharField(help_text="up, down, degraded or unknown")
    error = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)
    vendor = serializers.CharField(required=False, help_text="database")
    transport = serializers.CharField(required=False, help_text="broker")
    mode = serializers.CharField(required=False, help_text="broker, workers")
    count = serializers.IntegerField(required=False, help_text="workers")
    last_reconcile = serializers.DateTimeField(required=False, help_text="ledger")
    differences = serializers.IntegerField(required=False, help_text="ledger")


class HealthChecksSerializer(serializers.Serializer):
    database = HealthCheckSerializer()
    broker = HealthCheckSerializer()
    workers = HealthCheckSerializer()
    ledger = HealthCheckSerializer()


@extend_schema(
    summary="Health of the database, broker and workers",
    responses={
        (200, "application/json"): inline_serializer(
            "Health", {"status": serializers.CharField(), "checks": HealthChecksSerializer()}
        ),
        (503, "application/json"): inline_serializer(
            "Unhealthy", {"status": serializers.CharField(), "checks": HealthChecksSerializer()}
        ),
    },
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
def healthz(request):
    healthy, report = health_report()
    return JsonResponse(report, status=200 if healthy else 503)


@extend_schema(
    summary="Liveness: the process answers (no dependency checked)",
    responses={
        (200, "application/json"): inline_serializer(
            "Live", {"status": serializers.ChoiceField(choices=["ok"])}
        )
    },
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
def livez(request):
    """The process answers: for a load balancer's liveness probe (no dependency checked)."""
    return JsonResponse({"status": "ok"})
