"""A 201 names what it created (Location: the created object's detail URL), and the schema says
so; /livez and revoke's ``?all`` are in the schema."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import client_for

pytestmark = pytest.mark.django_db


def _created(response, collection: str):
    assert response.status_code == 201, response.content
    object_id = response.json()["id"]
    assert response["Location"] == f"http://testserver{collection}{object_id}/"
    return object_id


def _schema(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_a_created_pledge_has_its_location_and_a_replay_too(donor_client):
    body = {"amount": "250.00", "currency": "USD"}
    key = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}

    first = donor_client.post("/api/v1/pledges/", body, format="json", **key)
    replay = donor_client.post("/api/v1/pledges/", body, format="json", **key)

    pledge_id = _created(first, "/api/v1/pledges/")
    assert replay["Idempotent-Replayed"] == "true"
    assert replay["Location"] == first["Location"]
    assert donor_client.get(first["Location"]).json()["id"] == pledge_id


def test_created_need_organization_and_api_key_have_their_locations(org_x, staff_x, admin_x):
    need = client_for(staff_x).post(
        "/api/v1/needs/",
        {
            "organization": str(org_x.pk),
            "title": "Flour for 20 families",
            "sector": "food_security",
            "province": "AF01",
            "currency": "AFN",
            "amount": "70000.00",
            "urgency": 4,
            "deadline": (timezone.now().date() + timedelta(days=30)).isoformat(),
        },
        format="json",
    )
    organization = client_for(admin_x).post(
        "/api/v1/organizations/",
        {"name": "New Group", "kind": "ngo", "afghan_led": True},
        format="json",
    )
    api_key = client_for(admin_x).post(
        "/api/v1/api-keys/",
        {"organization": str(org_x.pk), "name": "app", "scopes": ["needs:read"]},
        format="json",
    )

    for response, collection in [
        (need, "/api/v1/needs/"),
        (organization, "/api/v1/organizations/"),
        (api_key, "/api/v1/api-keys/"),
    ]:
        object_id = _created(response, collection)
        read = client_for(admin_x).get(response["Location"])
        assert read.status_code == 200, (collection, read.content)
        assert read.json()["id"] == object_id


def test_a_created_object_without_a_detail_route_has_no_location(anon):
    response = anon.post(
        "/api/v1/auth/register",
        {"email": "new@example.org", "password": "a long enough passphrase"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert "Location" not in response


def test_the_schema_declares_location_on_every_create_with_a_detail_path(anon):
    paths = _schema(anon)["paths"]

    declared = {
        path
        for path, item in paths.items()
        if "Location" in item.get("post", {}).get("responses", {}).get("201", {}).get("headers", {})
    }

    assert {
        "/api/v1/needs/",
        "/api/v1/pledges/",
        "/api/v1/organizations/",
        "/api/v1/api-keys/",
        "/api/v1/disbursements/",
        "/api/v1/reports/",
        "/api/v1/exchange-rates/",
        "/api/v1/organizations/{id}/documents",
        "/api/v1/reports/{id}/evidence/",
    } <= declared
    assert "/api/v1/auth/register" not in declared
    assert "/api/v1/auth/token" not in declared


def test_livez_and_revoke_all_are_in_the_schema(anon):
    paths = _schema(anon)["paths"]

    assert anon.get("/livez").json() == {"status": "ok"}
    assert "200" in paths["/livez"]["get"]["responses"]
    revoke = paths["/api/v1/auth/token/revoke"]["post"]
    assert {"in": "query", "name": "all"}.items() <= revoke["parameters"][0].items()
    assert revoke["parameters"][0]["schema"]["type"] == "boolean"
