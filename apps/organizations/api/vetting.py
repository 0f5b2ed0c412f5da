"""POST /organizations/{id}/verify|reject|suspend|reinstate — verifiers, with a reason."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.permissions import UsersOnly
from apps.core.serializers import StrictSerializer
from apps.core.tabular import TabularListMixin
from apps.core.transactions import one_transaction
from apps.organizations.access import is_verifier
from apps.organizations.api.serializers import OrganizationSerializer
from apps.organizations.models import VettingDecision
from apps.organizations.selectors import organizations_visible_to
from apps.organizations.vetting import organization_vet


class ReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=1000)


class VettingDecisionSerializer(serializers.ModelSerializer):
    decided_by = serializers.EmailField(source="decided_by.email", default=None, allow_null=True)

    class Meta:
        model = VettingDecision
        fields = [
            "action",
            "from_status",
            "to_status",
            "reason",
            "decided_by",
            "released_proposals",
            "created_at",
        ]
        read_only_fields = fields


class VettingActionView(APIView):
    permission_classes = [UsersOnly]
    action = ""

    @one_transaction
    @extend_schema(request=ReasonSerializer, responses=OrganizationSerializer, tags=["vetting"])
    def post(self, request, pk):
        organization = get_object_or_404(organizations_visible_to(request), pk=pk)
        if not is_verifier(request):
            raise PermissionDenied(gettext("Only verifiers vet organizations."))
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        organization = organization_vet(
            organization_id=organization.pk,
            action=self.action,
            verifier=request.user,
            reason=serializer.validated_data["reason"],
        )
        return Response(OrganizationSerializer(organization, context={"request": request}).data)


class VettingHistoryView(TabularListMixin, APIView):
    permission_classes = [UsersOnly]
    tabular_serializers = {"list": VettingDecisionSerializer}

    @extend_schema(responses=VettingDecisionSerializer(many=True), tags=["vetting"])
    def get(self, request, pk):
        organization = get_object_or_404(organizations_visible_to(request), pk=pk)
        if not is_verifier(request):
            raise PermissionDenied(gettext("Only verifiers read the vetting history."))
        decisions = organization.vetting_decisions.select_related("decided_by")
        return Response(VettingDecisionSerializer(decisions, many=True).data)
