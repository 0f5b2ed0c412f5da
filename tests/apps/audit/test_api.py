"""GET /api/v1/audit-events/: verifiers only, filtered, cursor-paginated."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.audit.services import audit_record
from tests.conftest import client_for
from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/audit-events/"


@pytest.mark.parametrize(
    "who, expected",
    [
        ("anonymous", 401),
        ("donor", 403),
        ("staff_x", 403),
        ("admin_x", 403),
        ("key_x", 403),
        ("verifier", 200),
    ],
)
def test_only_verifiers_read_the_trail(who, expected, org_x, staff_x, admin_x, verifier):
    _, key = ApiKeyFactory.create(organization=org_x, scopes=["organization:read", "needs:read"])
    client = {
        "anonymous": APIClient(),
        "donor": client_for(UserFactory()),
        "staff_x": client_for(staff_x),
        "admin_x": client_for(admin_x),
        "key_x": client_for(api_key=key),
        "verifier": client_for(verifier),
    }[who]

    response = client.get(URL)

    assert response.status_code == expected
    if expected != 200:
        assert response["Content-Type"] == "application/problem+json"


def test_filters(org_x, admin_x, verifier_client):
    client_for(admin_x).patch(
        f"/api/v1/organizations/{org_x.pk}",
        {"registry": "MoEc"},
        format="json",
        HTTP_X_REQUEST_ID="edit-42",
    )
    audit_record(action="system.test", object_type="thing", object_id="7")

    def ids(query):
        response = verifier_client.get(URL, query)
        assert response.status_code == 200, response.content
        return [(e["action"], e["object_id"]) for e in response.json()["results"]]

    assert ids({"action": "organization.update"}) == [("organization.update", str(org_x.pk))]
    assert ids({"actor": f"user:{admin_x.pk}", "action_prefix": "organization."}) == [
        ("organization.update", str(org_x.pk))
    ]
    assert ids({"object_type": "thing", "object_id": "7"}) == [("system.test", "7")]
    assert ("organization.update", str(org_x.pk)) in ids({"request_id": "edit-42"})
    assert all(a != "system.test" for a, _ in ids({"request_id": "edit-42"}))
    assert ids({"actor": "system", "action": "system.test"}) == [("system.test", "7")]
    soon = (timezone.now() + timedelta(minutes=5)).isoformat()
    assert ids({"occurred_after": soon}) == []
    assert ("system.test", "7") in ids({"occurred_before": soon})


def test_a_bad_filter_is_a_400_problem(verifier_client):
    response = verifier_client.get(URL, {"occurred_after": "yesterday"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "occurred_after" in response.json()["errors"]


def test_cursor_pages_newest_first_with_hashes(verifier_client):
    for i in range(5):
        audit_record(action="system.test", object_type="thing", object_id=str(i))

    first = verifier_client.get(URL, {"action": "system.test", "page_size": 2}).json()
    second = verifier_client.get(first["next"]).json()

    assert [e["object_id"] for e in first["results"]] == ["4", "3"]
    assert [e["object_id"] for e in second["results"]] == ["2", "1"]
    newest, older = first["results"]
    assert newest["prev_hash"] == older["hash"]
    assert len(newest["hash"]) == 64
