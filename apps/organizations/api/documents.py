"""/organizations/{id}/documents: vetting documents (verifiers and the organization's admins)."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit.reads import ConfidentialReadMixin, note_confidential_read
from apps.core.permissions import UsersOnly
from apps.core.schema import file_download
from apps.core.serializers import StrictSerializer
from apps.core.tabular import TabularListMixin
from apps.organizations.documents import (
    may_handle_documents,
    organization_document_content,
    organization_document_upload,
)
from apps.organizations.models import DocumentKind, OrganizationDocument
from apps.organizations.selectors import organization_for_insider


class DocumentSerializer(ConfidentialReadMixin, serializers.ModelSerializer):
    """A document's description; its file name may name people (an audited read)."""

    confidential_fields = ("filename",)
    uploaded_by = serializers.EmailField(source="uploaded_by.email", default=None, allow_null=True)

    class Meta:
        model = OrganizationDocument
        fields = ["id", "kind", "filename", "content_type", "size", "sha256", "uploaded_by"]
        fields += ["created_at"]
        read_only_fields = fields


class DocumentUploadSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    file = serializers.FileField(help_text="PDF, PNG or JPEG, at most 10 MB")


def _organization(request, pk):
    """Outsiders get 404 (as if it did not exist); members who may not handle documents 403."""
    organization = organization_for_insider(request, pk)
    if not may_handle_documents(request.user, organization.pk):
        raise PermissionDenied(
            gettext("Only verifiers and the organization's admins see its documents.")
        )
    return organization


class DocumentListView(TabularListMixin, APIView):
    permission_classes = [UsersOnly]
    tabular_serializers = {"list": DocumentSerializer}
    parser_classes = [MultiPartParser]

    @extend_schema(responses=DocumentSerializer(many=True), tags=["vetting"])
    def get(self, request, pk):
        organization = _organization(request, pk)
        documents = (
            organization.documents.defer("blob")
            .select_related("uploaded_by")
            .order_by("-created_at")
        )
        return Response(DocumentSerializer(documents, many=True).data)

    @extend_schema(
        request={"multipart/form-data": DocumentUploadSerializer},
        responses={201: DocumentSerializer},
        summary="Upload a vetting document (confidential, encrypted at rest)",
        tags=["vetting"],
    )
    def post(self, request, pk):
        organization = _organization(request, pk)
        serializer = DocumentUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        document = organization_document_upload(
            actor=request.user,
            organization=organization,
            kind=serializer.validated_data["kind"],
            upload=serializer.validated_data["file"],
        )
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)


class DocumentDownloadView(APIView):
    permission_classes = [UsersOnly]

    @extend_schema(
        responses=file_download("The file"),
        tags=["vetting"],
    )
    def get(self, request, pk, document_id):
        organization = _organization(request, pk)
        document = get_object_or_404(organization.documents.all(), pk=document_id)
        response = HttpResponse(
            organization_document_content(document), content_type=document.content_type
        )
        note_confidential_read(document, ["content"])
        response["Content-Disposition"] = f'attachment; filename="{document.pk}"'
        response["X-Content-SHA256"] = document.sha256
        return response
