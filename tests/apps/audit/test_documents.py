"""Vetting documents: verifiers and the organization's admins upload, list and download them;
stored encrypted with their SHA-256; downloads audited; bad uploads 4xx and write nothing."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from apps.audit.models import AuditEvent
from apps.organizations import documents
from apps.organizations.models import OrganizationDocument
from tests.conftest import client_for
from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\nRegistration certificate no. 4471, Ministry of Economy\n%%EOF"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _upload(client, org, *, name="certificate.pdf", content=PDF, content_type="application/pdf"):
    return client.post(
        f"/api/v1/organizations/{org.pk}/documents",
        {
            "kind": "registration_certificate",
            "file": SimpleUploadedFile(name, content, content_type),
        },
        format="multipart",
    )


def test_an_admin_uploads_and_a_verifier_downloads_audited(
    org_x, admin_x, verifier, verifier_client
):
    uploaded = _upload(client_for(admin_x), org_x)

    assert uploaded.status_code == 201, uploaded.content
    body = uploaded.json()
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert (body["size"], body["content_type"]) == (len(PDF), "application/pdf")
    stored = OrganizationDocument.objects.get()
    assert b"Registration certificate" not in bytes(stored.blob)
    (upload_event,) = AuditEvent.objects.filter(action="organization.document_upload")
    assert upload_event.after["sha256"] == body["sha256"]
    assert "filename" not in upload_event.after

    download = verifier_client.get(f"/api/v1/organizations/{org_x.pk}/documents/{body['id']}")

    assert download.status_code == 200 and download.content == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["X-Content-SHA256"] == body["sha256"]
    read = AuditEvent.objects.filter(action="confidential.read", object_id=body["id"]).last()
    assert read.detail == {"fields": ["content"]}
    assert read.actor == f"user:{verifier.pk}"


def test_the_list_shows_documents_to_admins_and_verifiers(org_x, admin_x, verifier_client):
    _upload(client_for(admin_x), org_x)
    _upload(client_for(admin_x), org_x, name="logo.png", content=PNG, content_type="image/png")

    listed = verifier_client.get(f"/api/v1/organizations/{org_x.pk}/documents")

    assert listed.status_code == 200
    assert sorted(d["filename"] for d in listed.json()) == ["certificate.pdf", "logo.png"]


@pytest.mark.parametrize(
    "who, expected",
    [
        ("anonymous", 401),
        ("donor", 404),
        ("staff_x", 403),
        ("admin_y", 404),
        ("key_x", 403),
        ("admin_x", 200),
        ("verifier", 200),
    ],
)
def test_who_may_see_documents(who, expected, org_x, staff_x, admin_x, admin_y, verifier):
    document = OrganizationDocument.objects.get(pk=_upload(client_for(admin_x), org_x).json()["id"])
    _, key = ApiKeyFactory.create(organization=org_x, scopes=["organization:read"])
    client = {
        "anonymous": APIClient(),
        "donor": client_for(UserFactory()),
        "staff_x": client_for(staff_x),
        "admin_y": client_for(admin_y),
        "key_x": client_for(api_key=key),
        "admin_x": client_for(admin_x),
        "verifier": client_for(verifier),
    }[who]
    base = f"/api/v1/organizations/{org_x.pk}/documents"

    assert client.get(base).status_code == expected
    assert client.get(f"{base}/{document.pk}").status_code == expected
    upload_status = _upload(client, org_x).status_code
    assert upload_status == (201 if expected == 200 else expected)


@pytest.mark.parametrize(
    "name, content, content_type, status",
    [
        ("notes.txt", b"plain text", "text/plain", 422),  # not an allowed type
        ("fake.pdf", b"MZ\x90\x00 an executable", "application/pdf", 422),  # magic bytes lie
        ("fake.png", PDF, "image/png", 422),  # a PDF declared as PNG
        ("empty.pdf", b"", "application/pdf", 400),  # DRF refuses an empty file
    ],
)
def test_bad_uploads_are_4xx_and_write_nothing(org_x, admin_x, name, content, content_type, status):
    response = _upload(
        client_for(admin_x), org_x, name=name, content=content, content_type=content_type
    )

    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert not OrganizationDocument.objects.exists()
    assert not AuditEvent.objects.filter(action="organization.document_upload").exists()


def test_an_oversized_upload_is_refused(org_x, admin_x, monkeypatch):
    monkeypatch.setattr(documents, "MAX_DOCUMENT_BYTES", 1024)

    response = _upload(client_for(admin_x), org_x, content=b"%PDF-" + b"x" * 2000)

    assert response.status_code == 422
    assert "larger" in response.json()["errors"]["file"][0]
    assert not OrganizationDocument.objects.exists()


def test_missing_file_unknown_kind_and_json_bodies_are_refused(org_x, admin_x):
    client = client_for(admin_x)
    url = f"/api/v1/organizations/{org_x.pk}/documents"

    no_file = client.post(url, {"kind": "registration_certificate"}, format="multipart")
    bad_kind = client.post(
        url,
        {"kind": "passport", "file": SimpleUploadedFile("a.pdf", PDF, "application/pdf")},
        format="multipart",
    )
    as_json = client.post(url, {"kind": "other"}, format="json")

    assert (no_file.status_code, bad_kind.status_code, as_json.status_code) == (400, 400, 415)
    assert set(no_file.json()["errors"]) == {"file"}
    assert not OrganizationDocument.objects.exists()


def test_a_stored_file_that_no_longer_matches_its_hash_is_not_served(org_x, admin_x):
    body = _upload(client_for(admin_x), org_x).json()
    OrganizationDocument.objects.filter(pk=body["id"]).update(sha256="0" * 64)

    response = client_for(admin_x).get(f"/api/v1/organizations/{org_x.pk}/documents/{body['id']}")

    assert response.status_code == 409
    assert not AuditEvent.objects.filter(
        action="confidential.read", object_id=body["id"], detail={"fields": ["content"]}
    ).exists()
