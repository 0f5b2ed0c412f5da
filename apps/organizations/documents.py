"""Vetting documents: verifiers and the organization's admins upload and read them. Stored
through the shared confidential-file mechanism (``apps/core/files.py``): size limit, pdf/png/
jpeg by declared type and magic bytes, SHA-256, encrypted at rest."""

from django.db import transaction
from django.utils.translation import gettext_noop as _

from aidmatch.access import MemberRole
from aidmatch.errors import NotPermitted
from apps.audit.services import audit_record, audit_snapshot
from apps.core.files import DOCUMENT_TYPES, check_upload, decrypt_checked
from apps.organizations.models import DocumentKind, Membership, Organization, OrganizationDocument

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


def may_handle_documents(user, organization_id) -> bool:
    """Verifiers, and admins of the organization (not its staff, not API keys)."""
    if getattr(user, "is_verifier", False):
        return True
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return False
    return Membership.objects.filter(
        user=user, organization_id=organization_id, role=MemberRole.ADMIN
    ).exists()


@transaction.atomic
def organization_document_upload(
    *, actor, organization: Organization, kind: DocumentKind | str, upload
) -> OrganizationDocument:
    if not may_handle_documents(actor, organization.pk):
        raise NotPermitted(_("Only verifiers and the organization's admins upload documents."))
    checked = check_upload(upload, max_bytes=MAX_DOCUMENT_BYTES, allowed_types=DOCUMENT_TYPES)
    document = OrganizationDocument.objects.create(
        organization=organization,
        kind=kind,
        filename=checked.filename,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        blob=checked.blob,
        uploaded_by=actor,
    )
    audit_record(
        action="organization.document_upload",
        obj=document,
        after=audit_snapshot(
            document, fields=["organization", "kind", "content_type", "size", "sha256"]
        ),
    )
    return document


def organization_document_content(document: OrganizationDocument) -> bytes:
    return decrypt_checked(document.blob, document.sha256)
