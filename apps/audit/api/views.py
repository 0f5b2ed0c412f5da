from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.permissions import BasePermission

from apps.audit.api.serializers import AuditEventSerializer
from apps.audit.filters import AuditEventFilterSet
from apps.audit.selectors import audit_events
from apps.core.pagination import CursorPagination
from apps.core.tabular import TabularListMixin
from apps.organizations.access import is_verifier


class VerifiersOnly(BasePermission):
    message = gettext_lazy("Only verifiers read the audit trail.")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and is_verifier(request))


class AuditEventPagination(CursorPagination):
    ordering = "-id"


@extend_schema_view(
    list=extend_schema(
        summary="The audit trail (verifiers)",
        description=(
            "State changes and confidential reads, newest first: who (actor, and the token or "
            "key used), what (action), on which object, before/after of non-confidential "
            "fields, the request id, and the hash chain (`manage.py audit_verify` checks it)."
        ),
        tags=["audit"],
    ),
    retrieve=extend_schema(tags=["audit"]),
)
class AuditEventViewSet(
    TabularListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    permission_classes = [VerifiersOnly]
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilterSet
    pagination_class = AuditEventPagination
    ordering_fields = ["id"]

    def get_queryset(self):
        return audit_events()
