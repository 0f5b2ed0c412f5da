"""Every response with a confidential field writes a confidential.read event per object (in
one bulk step), for members, keys and verifiers; callers who cannot see the field leave none."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from aidmatch.access import MemberRole
from apps.audit import reads
from apps.audit.models import AuditEvent
from tests.conftest import client_for
from tests.factories import ApiKeyFactory, MembershipFactory, NeedFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

CONTACT_FIELDS = ["address", "contact_email", "contact_name", "contact_phone", "principals"]


def _reads():
    return list(AuditEvent.objects.filter(action="confidential.read").order_by("id"))


def test_a_member_reading_its_organization_is_audited(org_x, staff_x):
    response = client_for(staff_x).get(
        f"/api/v1/organizations/{org_x.pk}", HTTP_X_REQUEST_ID="read-1"
    )

    assert response.status_code == 200 and response.json()["contact_email"]
    (event,) = _reads()
    assert (event.object_type, event.object_id) == ("organization", str(org_x.pk))
    assert event.detail == {"fields": CONTACT_FIELDS}
    assert event.actor == f"user:{staff_x.pk}" and event.via.startswith("token:")
    assert event.request_id == "read-1"


def test_a_verifier_s_list_writes_one_event_per_organization_in_one_step(verifier_client):
    OrganizationFactory.create_batch(3)
    few = _list_queries(verifier_client)
    OrganizationFactory.create_batch(20)
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    many = _list_queries(verifier_client)

    assert many == few
    events = AuditEvent.objects.filter(id__gt=last)
    assert events.count() == 23
    assert set(events.values_list("action", "object_type")) == {
        ("confidential.read", "organization")
    }
    assert len(set(events.values_list("object_id", flat=True))) == 23


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/api/v1/organizations/?page_size=100").status_code == 200
    return len(ctx.captured_queries)


def test_callers_who_cannot_see_confidential_fields_leave_no_read(org_x, donor_client, admin_y):
    need = NeedFactory(organization=org_x)

    assert "contact_email" not in donor_client.get(f"/api/v1/organizations/{org_x.pk}").json()
    assert "location_detail" not in donor_client.get(f"/api/v1/needs/{need.pk}").json()
    assert "location_detail" not in APIClient().get(f"/api/v1/needs/{need.pk}").json()
    assert (
        "contact_email" not in client_for(admin_y).get(f"/api/v1/organizations/{org_x.pk}").json()
    )
    donor_client.get("/api/v1/needs/")

    assert _reads() == []


def test_a_key_reading_a_need_s_location_is_audited_as_the_key(org_x):
    need = NeedFactory(organization=org_x)
    api_key, text = ApiKeyFactory.create(organization=org_x, scopes=["needs:read"])

    body = client_for(api_key=text).get(f"/api/v1/needs/{need.pk}").json()

    assert body["location_detail"]
    (event,) = _reads()
    assert event.actor == f"key:{api_key.prefix}" and event.via == f"key:{api_key.prefix}"
    assert (event.object_type, event.object_id, event.detail) == (
        "need",
        str(need.pk),
        {"fields": ["location_detail"]},
    )


def test_members_list_names_staff_and_is_audited(org_x, admin_x):
    MembershipFactory.create_batch(2, organization=org_x, role=MemberRole.STAFF)

    assert client_for(admin_x).get(f"/api/v1/organizations/{org_x.pk}/members").status_code == 200

    events = _reads()
    assert len(events) == 3 and {e.object_type for e in events} == {"membership"}
    assert events[0].detail == {"fields": ["email", "full_name"]}


def test_no_event_no_response(org_x, staff_x, monkeypatch):
    """If the read cannot be audited, the confidential data is not sent."""

    def broken(noted):
        raise RuntimeError("the audit trail is unavailable")

    monkeypatch.setattr(reads, "flush", broken)
    client = client_for(staff_x)
    client.raise_request_exception = False

    response = client.get(f"/api/v1/organizations/{org_x.pk}")

    assert response.status_code == 500
    assert org_x.contact_email.encode() not in response.content
