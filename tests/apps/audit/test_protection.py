"""Protected data: never echoed in problem bodies or logs; encrypted at rest (idempotency
replays included); key rotation re-encrypts everything and keeps it readable."""

import logging

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from apps.core.models import IdempotencyRecord
from apps.needs.models import Need
from apps.organizations.documents import organization_document_upload
from apps.organizations.models import Membership, Organization, OrganizationDocument
from tests.conftest import client_for
from tests.factories import NeedFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

SECRET = "Mawlawi Qudratullah Secretname"


@pytest.mark.parametrize(
    "path, body",
    [
        # valid confidential values beside an invalid field
        (
            "/api/v1/organizations/",
            {
                "name": "G",
                "kind": "bakery",
                "afghan_led": True,
                "contact_name": SECRET,
                "principals": [{"name": SECRET, "role": "director"}],
            },
        ),
        # the confidential field itself is invalid
        (
            "/api/v1/organizations/",
            {"name": "G", "kind": "ngo", "afghan_led": True, "contact_email": f"{SECRET} at home"},
        ),
        (
            "/api/v1/organizations/",
            {
                "name": "G",
                "kind": "ngo",
                "afghan_led": True,
                "principals": [{"name": SECRET, "role": "director", "tribe": SECRET}],
            },
        ),
        (
            "/api/v1/organizations/",
            {"name": "G", "kind": "ngo", "afghan_led": True, "principals": SECRET},
        ),
        (
            "/api/v1/needs/",
            {
                "title": "Food",
                "sector": "food_security",
                "province": "AF99",
                "currency": "USD",
                "amount": "10.00",
                "urgency": 3,
                "deadline": "2030-01-01",
                "location_detail": SECRET,
            },
        ),
        (
            "/api/v1/needs/",
            {
                "title": "Food",
                "sector": "food_security",
                "province": "AF01",
                "currency": "USD",
                "amount": "10.00",
                "urgency": 3,
                "deadline": "2030-01-01",
                "location_detail": SECRET * 100,
            },
        ),
    ],
)
def test_a_confidential_value_in_a_bad_request_is_neither_echoed_nor_logged(
    org_x, staff_x, caplog, path, body
):
    caplog.set_level(logging.DEBUG)

    response = client_for(staff_x).post(path, body, format="json")

    assert 400 <= response.status_code < 500, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert "Secretname" not in response.content.decode()
    assert "Secretname" not in caplog.text
    assert not Organization.objects.exclude(pk=org_x.pk).exists()
    assert not Need.objects.exists()


def test_a_malformed_body_with_a_confidential_value_is_neither_echoed_nor_logged(staff_x, caplog):
    caplog.set_level(logging.DEBUG)
    raw = '{"name": "G", "contact_name": "' + SECRET + '", "principals": [}'

    response = client_for(staff_x).post(
        "/api/v1/organizations/", raw, content_type="application/json"
    )

    assert response.status_code == 400
    assert "Secretname" not in response.content.decode()
    assert "Secretname" not in caplog.text


def test_replayed_responses_are_stored_encrypted(admin_x):
    client = client_for(admin_x)
    body = {"name": "New Group", "kind": "ngo", "afghan_led": True, "contact_name": SECRET}

    first = client.post("/api/v1/organizations/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/v1/organizations/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["contact_name"] == SECRET
    record = IdempotencyRecord.objects.get(key="k-1")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT response_body FROM core_idempotencyrecord WHERE id = %s", [record.pk]
        )
        (raw,) = cursor.fetchone()
    assert "Secretname" not in raw


OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def _raw(table, column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        (value,) = cursor.fetchone()
    return bytes(value) if isinstance(value, memoryview) else value.encode()


def test_key_rotation_re_encrypts_everything_and_keeps_it_readable(settings, admin_x, capsys):
    default = list(settings.FIELD_ENCRYPTION_KEYS)  # the fixtures' rows use it
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY, *default]
    org = OrganizationFactory(
        contact_email="desk@hidden.example", principals=[{"name": SECRET, "role": "director"}]
    )
    need = NeedFactory(organization=org, location_detail="Third lane behind the mosque")
    Membership.objects.create(user=admin_x, organization=org, role="admin")
    document = organization_document_upload(
        actor=admin_x,
        organization=org,
        kind="registration_certificate",
        upload=SimpleUploadedFile("c.pdf", b"%PDF-1.4 certificate", "application/pdf"),
    )
    stored = [
        ("organizations_organization", "contact_email", org.pk),
        ("organizations_organization", "principals", org.pk),
        ("needs_need", "location_detail", need.pk),
        ("organizations_organizationdocument", "blob", document.pk),
    ]

    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY, *default]
    call_command("rotate_field_keys", chunk_size=1)

    for table, column, pk in stored:
        token = _raw(table, column, pk)
        Fernet(NEW_KEY.encode()).decrypt(token)
        with pytest.raises(InvalidToken):
            Fernet(OLD_KEY.encode()).decrypt(token)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # the old key is gone
    org.refresh_from_db()
    assert org.contact_email == "desk@hidden.example"
    assert org.principals == [{"name": SECRET, "role": "director"}]
    assert Need.objects.get(pk=need.pk).location_detail == "Third lane behind the mosque"
    download = client_for(admin_x).get(f"/api/v1/organizations/{org.pk}/documents/{document.pk}")
    assert download.content == b"%PDF-1.4 certificate"
    assert "re-encrypted with the newest key" in capsys.readouterr().out

    call_command("rotate_field_keys")  # again: nothing left to do
    assert "Rotated: 0 of" in capsys.readouterr().out
    assert OrganizationDocument.objects.count() == 1


def test_rotation_stops_at_a_value_no_key_opens_and_names_it_not_its_value(settings, org_x):
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]  # the key of org_x's values is missing

    with pytest.raises(CommandError, match=f"organizations.organization.* of row {org_x.pk}"):
        call_command("rotate_field_keys")
