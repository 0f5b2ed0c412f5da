"""IATI 2.03 files of a publishing organization, streamed as application/xml.

Anyone may read a publishing organization's files (``apps.opendata.selectors.is_publishing``);
its own members and verifiers may also preview them before it opts in. Anyone else gets the
same 404 as for an unknown id."""

import json

from django.http import StreamingHttpResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.decorators import api_view, permission_classes, renderer_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer

from apps.opendata.iati import iter_activities, iter_organisation
from apps.opendata.iati.activities import published_needs
from apps.opendata.selectors import is_publishing
from apps.organizations.access import can_see_confidential
from apps.organizations.models import Organization

XML = "application/xml"


class XmlRenderer(BaseRenderer):
    """Lets ``Accept: application/xml`` reach the view (the file is streamed as it is); a
    problem answered to such a request is its JSON body."""

    media_type = XML
    format = "xml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes | str):
            return data
        return json.dumps(data).encode()


def xml_download(description: str) -> dict:
    """``extend_schema`` responses of an XML file: ``application/xml``, with
    ``application/octet-stream`` listed first for generated clients (as
    ``apps.core.schema.file_download``: openapi-python-client reads a download as a file only
    under that name)."""
    return {
        (200, content_type): OpenApiResponse(OpenApiTypes.BINARY, description=description)
        for content_type in ("application/octet-stream", XML)
    }


def _organization(request, pk) -> Organization:
    organization = Organization.objects.filter(pk=pk).first()
    if organization is None or not (
        is_publishing(organization) or can_see_confidential(request, organization.pk)
    ):
        raise NotFound()
    return organization


def _stream(chunks, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=XML)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@extend_schema(
    tags=["open data"],
    summary="An organization's IATI 2.03 activities file",
    description=(
        "One `iati-activity` per published need (IATI 2.03, streamed). Public for an "
        "organization that publishes open data; its members and verifiers may preview it "
        "before it opts in."
    ),
    responses=xml_download("An `iati-activities` 2.03 document."),
)
@api_view(["GET"])
@permission_classes([AllowAny])
@renderer_classes([JSONRenderer, XmlRenderer])
def activities_view(request, pk):
    organization = _organization(request, pk)
    if not published_needs(organization).exists():
        # An activities file holds at least one activity (the 2.03 schema).
        raise NotFound(gettext("This organization has no published activity yet."))
    return _stream(iter_activities(organization), f"iati-activities-{organization.pk}.xml")


@extend_schema(
    tags=["open data"],
    summary="An organization's IATI 2.03 organisation file",
    description=(
        "The organization (as published) with its total budget and total expenditure per "
        "currency and year (IATI 2.03 `iati-organisations`). Same access as the activities file."
    ),
    responses=xml_download("An `iati-organisations` 2.03 document."),
)
@api_view(["GET"])
@permission_classes([AllowAny])
@renderer_classes([JSONRenderer, XmlRenderer])
def organisation_view(request, pk):
    organization = _organization(request, pk)
    return _stream(iter_organisation(organization), f"iati-organisation-{organization.pk}.xml")
