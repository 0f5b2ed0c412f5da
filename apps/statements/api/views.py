"""``GET /api/v1/donors/me/statement?year=2026``: the caller's giving statement, as JSON, CSV
or PDF (``?format=`` or ``Accept``)."""

from django.http import Http404, HttpResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from aidmatch.access import Scope
from apps.core.actors import is_api_key
from apps.core.permissions import ScopedForApiKeys
from apps.core.tabular import CSVRenderer, columns_of, csv_response, header_of, row_reader
from apps.organizations.models import OrganizationKind
from apps.statements import pdf
from apps.statements.api.serializers import (
    StatementLineSerializer,
    StatementQuerySerializer,
    StatementSerializer,
)
from apps.statements.selectors import Donor, statement

PDF = "application/pdf"
FORMATS = ("json", "csv", "pdf")


class PDFRenderer(renderers.BaseRenderer):
    """Lets ``Accept: application/pdf`` and ``?format=pdf`` reach the view (which builds the
    file itself); a problem answered to such a request is its JSON body."""

    media_type = PDF
    format = "pdf"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return renderers.JSONRenderer().render(data)


def _donor(request) -> Donor:
    """A person's own pledges; a donor institution's, for its API key. A key of any other
    kind of organization has no statement (403)."""
    if not is_api_key(request):
        return Donor(user=request.user)
    organization = request.auth.organization
    if organization.kind != OrganizationKind.DONOR_INSTITUTION:
        raise PermissionDenied(
            gettext("Only a donor institution's API key has a giving statement.")
        )
    return Donor(organization=organization)


@extend_schema(
    tags=["statements"],
    summary="Your giving statement for a year",
    description=(
        "Every pledge, commitment, tranche and refund of the year (UTC) with totals per "
        "currency and in USD at each line's date, and the delivery reports of the needs your "
        "money is committed to. A signed-in person gets their own pledges; a donor "
        "institution's API key (scope `pledges:read`) the institution's. JSON by default; "
        "`?format=csv` (or `Accept: text/csv`): one row per line; `?format=pdf` (or `Accept: "
        "application/pdf`): a printable statement."
    ),
    parameters=[
        StatementQuerySerializer,
        OpenApiParameter(
            "format",
            str,
            OpenApiParameter.QUERY,
            enum=list(FORMATS),
            description="json (default), csv (one row per line) or pdf.",
        ),
    ],
    responses={
        (200, "application/json"): StatementSerializer,
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="One row per line."),
        (200, "application/octet-stream"): OpenApiResponse(
            OpenApiTypes.BINARY, description="The PDF (also served as application/pdf)."
        ),
        (200, PDF): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF."),
    },
)
class StatementView(APIView):
    permission_classes = [ScopedForApiKeys]
    required_scopes = {"get": Scope.PLEDGES_READ}
    renderer_classes = [renderers.JSONRenderer, CSVRenderer, PDFRenderer]

    def perform_content_negotiation(self, request, force=False):
        """An unknown ``?format=`` is bad input (400), not a missing page."""
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:
            raise ValidationError(
                {"format": [gettext("One of %(formats)s.") % {"formats": ", ".join(FORMATS)}]},
                code="invalid",
            ) from None

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and not isinstance(
            getattr(request, "accepted_renderer", None), renderers.JSONRenderer
        ):
            # Only problems get here (a file is its own response): JSON.
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)

    def get(self, request):
        query = StatementQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        year = query.validated_data["year"]
        data = statement(_donor(request), year)
        kind = request.accepted_renderer.format
        if kind == "csv":
            columns = columns_of(StatementLineSerializer)
            read = row_reader(columns)
            return csv_response(
                f"giving-statement-{year}",
                header_of(columns),
                None,
                (read(line) for line in data["lines"]),
            )
        if kind == "pdf":
            response = HttpResponse(pdf.render(data), content_type=PDF)
            response["Content-Disposition"] = f'attachment; filename="giving-statement-{year}.pdf"'
            return response
        return Response(data)
