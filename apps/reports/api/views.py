from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from aidmatch.access import Scope
from apps.audit.reads import note_confidential_read
from apps.core.actors import is_api_key
from apps.core.idempotency import idempotent
from apps.core.permissions import ScopedForApiKeys
from apps.core.schema import ByTierSerializer, file_download
from apps.core.serializers import represent
from apps.core.tabular import TabularListMixin
from apps.needs.selectors import needs_visible_to
from apps.organizations.access import can_see_confidential, member_org_ids
from apps.organizations.selectors import organizations_visible_to
from apps.reports import selectors, services
from apps.reports.api.serializers import (
    EvidenceSerializer,
    EvidenceUploadSerializer,
    OrganizationFundingSerializer,
    ReportCreateSerializer,
    ReportInsiderSerializer,
    ReportSerializer,
)
from apps.reports.funding import organization_funding
from apps.reports.models import DeliveryReport

# A report as its organization sees it (with evidence), and as donors and verifiers do.
LEVELS = {"donor": ReportSerializer, "insider": ReportInsiderSerializer}


@extend_schema_view(
    list=extend_schema(responses=ByTierSerializer("ReportAtAnyDetail", LEVELS, many=True)),
    retrieve=extend_schema(responses=ByTierSerializer("ReportAtAnyDetail", LEVELS)),
    create=extend_schema(request=ReportCreateSerializer, responses={201: ReportInsiderSerializer}),
)
class ReportViewSet(
    TabularListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Delivery reports: what a need achieved. Filed by the organization; read by it, by the
    donors whose money reached the need, and by verifiers. Evidence files: insiders only."""

    permission_classes = [ScopedForApiKeys]
    filterset_fields = ["need", "final"]
    ordering_fields = ["created_at", "period_end"]
    required_scopes = {
        "list": Scope.REPORTS_READ,
        "retrieve": Scope.REPORTS_READ,
        "create": Scope.REPORTS_WRITE,
        "evidence": Scope.REPORTS_WRITE,
        "evidence_file": Scope.REPORTS_READ,
    }

    queryset = DeliveryReport.objects.none()  # the model, for the schema; get_queryset filters
    tabular_serializers = {"list": ReportInsiderSerializer}  # every column a row may have

    def get_queryset(self):
        return selectors.reports_visible_to(self.request)

    def _out(self, report):
        """The report at the caller's level of detail, from a serializer built once per class
        (``represent``), not once per row."""
        insider = selectors.is_reporting_member(self.request, report)
        cls = ReportInsiderSerializer if insider else ReportSerializer
        return represent(cls, report, {"insider": insider})

    def get_serializer_class(self):
        return ReportSerializer

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([self._out(r) for r in page])

    def retrieve(self, request, *args, **kwargs):
        return Response(self._out(self.get_object()))

    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = ReportCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        need = get_object_or_404(needs_visible_to(request), pk=data.pop("need"))
        if need.organization_id not in member_org_ids(request):
            raise NotFound()
        data = serializer.validate_amount_for(need, data)
        report = services.report_file(
            need_id=need.pk,
            created_by=None if is_api_key(request) else request.user,
            items=data.pop("items", []),
            **data,
        )
        report = self.get_queryset().get(pk=report.pk)
        return Response(self._out(report), status=status.HTTP_201_CREATED)

    @extend_schema(
        request={"multipart/form-data": EvidenceUploadSerializer},
        responses={201: EvidenceSerializer},
        summary="Attach an evidence file (confidential, encrypted at rest)",
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser])
    def evidence(self, request, pk=None):
        report = self.get_object()
        if report.need.organization_id not in member_org_ids(request):
            raise NotFound()
        serializer = EvidenceUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        evidence = services.evidence_attach(
            report=report,
            upload=serializer.validated_data["file"],
            uploaded_by=None if is_api_key(request) else request.user,
        )
        return Response(EvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=file_download("The file"))
    @action(detail=True, methods=["get"], url_path=r"evidence/(?P<evidence_id>[0-9a-f-]{36})")
    def evidence_file(self, request, pk=None, evidence_id=None):
        report = self.get_object()
        if not selectors.is_reporting_member(request, report):
            raise NotFound()
        evidence = get_object_or_404(report.evidence.all(), pk=evidence_id)
        response = HttpResponse(
            services.evidence_content(evidence), content_type=evidence.content_type
        )
        note_confidential_read(evidence, ["content"])
        response["Content-Disposition"] = f'attachment; filename="{evidence.pk}"'
        response["X-Content-SHA256"] = evidence.sha256
        return response


class OrganizationFundingView(APIView):
    """GET /organizations/{id}/funding: money expected, received and spent (members, verifiers)."""

    permission_classes = [ScopedForApiKeys]
    required_scopes = {"get": Scope.ORGANIZATION_READ}

    @extend_schema(responses=OrganizationFundingSerializer, tags=["organizations"])
    def get(self, request, pk=None):
        organization = get_object_or_404(organizations_visible_to(request), pk=pk)
        if not can_see_confidential(request, organization.pk):
            raise NotFound()
        return Response(organization_funding(organization))
