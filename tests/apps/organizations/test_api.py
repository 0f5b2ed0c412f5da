"""Organizations, memberships and partner API keys through the API."""

import pytest

from apps.organizations.models import ApiKey, Membership, Organization
from tests.conftest import client_for
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

CONFIDENTIAL = {"contact_name", "contact_email", "contact_phone", "address", "principals"}

NEW_ORG = {
    "name": "Mazar Women's Bakery Collective",
    "kind": "women_led",
    "afghan_led": True,
    "registration_number": "MoEc-9001",
    "registry": "Ministry of Economy",
    "province": "AF21",
    "contact_email": "bakery@example.org",
    "principals": [{"name": "Shukria Hakimi", "role": "director"}],
}


def test_registering_an_organization_makes_the_creator_its_admin(donor_client, donor):
    response = donor_client.post("/api/v1/organizations/", NEW_ORG, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert body["your_role"] == "admin"
    assert body["principals"] == [{"name": "Shukria Hakimi", "role": "director"}]
    org = Organization.objects.get(pk=body["id"])
    assert Membership.objects.get(organization=org).user == donor


def test_confidential_fields_are_encrypted_at_rest(donor_client):
    from django.db import connection

    response = donor_client.post("/api/v1/organizations/", NEW_ORG, format="json")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT contact_email, principals FROM organizations_organization WHERE id = %s",
            [response.json()["id"]],
        )
        stored_email, stored_principals = cursor.fetchone()
    assert "bakery@example.org" not in stored_email
    assert "Shukria" not in stored_principals
    assert Organization.objects.get(pk=response.json()["id"]).contact_email == "bakery@example.org"


def test_outsiders_never_see_contacts_or_a_sensitive_name(donor_client):
    sensitive = OrganizationFactory(name="Secret Girls School Kandahar", sensitive=True)

    listing = donor_client.get("/api/v1/organizations/").json()["results"]
    detail = donor_client.get(f"/api/v1/organizations/{sensitive.pk}").json()

    assert detail["name"] == sensitive.pseudonym
    for body in [*listing, detail]:
        assert CONFIDENTIAL.isdisjoint(body)
    raw = donor_client.get("/api/v1/organizations/").content.decode()
    assert "Secret Girls School" not in raw


def test_search_cannot_unmask_a_pseudonym(donor_client):
    OrganizationFactory(name="Secret Girls School Kandahar", sensitive=True)

    results = donor_client.get("/api/v1/organizations/", {"q": "Secret Girls"}).json()["results"]

    assert results == []


def test_members_and_verifiers_see_the_whole_record(org_x, staff_x, verifier_client):
    for client in (client_for(staff_x), verifier_client):
        body = client.get(f"/api/v1/organizations/{org_x.pk}").json()
        assert body["contact_email"] == org_x.contact_email
        assert body["principals"] == org_x.principals


def test_an_unverified_organization_is_a_404_to_outsiders(donor_client, admin_y):
    pending = OrganizationFactory(status="pending")

    assert donor_client.get(f"/api/v1/organizations/{pending.pk}").status_code == 404
    assert client_for(admin_y).get(f"/api/v1/organizations/{pending.pk}").status_code == 404


def test_only_an_admin_edits_the_organization(org_x, admin_x, staff_x):
    refused = client_for(staff_x).patch(
        f"/api/v1/organizations/{org_x.pk}", {"contact_phone": "+93 1"}, format="json"
    )
    allowed = client_for(admin_x).patch(
        f"/api/v1/organizations/{org_x.pk}", {"contact_phone": "+93 1"}, format="json"
    )

    assert refused.status_code == 403
    assert allowed.status_code == 200
    org_x.refresh_from_db()
    assert org_x.contact_phone == "+93 1"


def test_an_admin_sets_the_time_zone_its_dates_are_judged_in(org_x, admin_x):
    client = client_for(admin_x)
    assert client.get(f"/api/v1/organizations/{org_x.pk}").json()["time_zone"] == "Asia/Kabul"

    moved = client.patch(
        f"/api/v1/organizations/{org_x.pk}", {"time_zone": "Asia/Tehran"}, format="json"
    )
    unknown = client.patch(
        f"/api/v1/organizations/{org_x.pk}", {"time_zone": "Mars/Olympus"}, format="json"
    )

    assert moved.status_code == 200
    assert moved.json()["time_zone"] == "Asia/Tehran"
    assert unknown.status_code == 400
    assert "time_zone" in unknown.json()["errors"]
    org_x.refresh_from_db()
    assert org_x.time_zone == "Asia/Tehran"


def test_status_cannot_be_set_by_its_members(org_x, admin_x):
    response = client_for(admin_x).patch(
        f"/api/v1/organizations/{org_x.pk}", {"status": "verified"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"]["status"] == ["This field is read-only."]


def test_admin_removes_members(org_x, admin_x, staff_x):
    membership = Membership.objects.get(user=staff_x, organization=org_x)

    removed = client_for(admin_x).delete(
        f"/api/v1/organizations/{org_x.pk}/members/{membership.pk}"
    )

    assert removed.status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_the_last_admin_cannot_leave(org_x, admin_x):
    membership = Membership.objects.get(user=admin_x, organization=org_x)

    response = client_for(admin_x).delete(
        f"/api/v1/organizations/{org_x.pk}/members/{membership.pk}"
    )

    assert response.status_code == 409
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_api_key_is_shown_once_stored_hashed_and_works(org_x, admin_x):
    client = client_for(admin_x)
    created = client.post(
        "/api/v1/api-keys/",
        {"organization": str(org_x.pk), "name": "food app", "scopes": ["organization:read"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    key = created.json()["key"]
    stored = ApiKey.objects.get(prefix=created.json()["id"])
    assert key not in stored.hashed_key and key not in stored.id

    listed = client.get("/api/v1/api-keys/").json()["results"]
    assert [k["id"] for k in listed] == [stored.prefix]
    assert "key" not in listed[0]

    as_partner = client_for(api_key=key).get(f"/api/v1/organizations/{org_x.pk}")
    assert as_partner.status_code == 200
    assert as_partner.json()["contact_email"] == org_x.contact_email
    stored.refresh_from_db()
    assert stored.last_used_at is not None


def test_a_revoked_api_key_is_refused(org_x, admin_x):
    client = client_for(admin_x)
    created = client.post(
        "/api/v1/api-keys/",
        {"organization": str(org_x.pk), "name": "old app", "scopes": ["organization:read"]},
        format="json",
    ).json()

    revoked = client.post(f"/api/v1/api-keys/{created['id']}/revoke")
    after = client_for(api_key=created["key"]).get("/api/v1/organizations/")

    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert after.status_code == 401
    assert after["Content-Type"] == "application/problem+json"


def test_unknown_scopes_are_refused(org_x, admin_x):
    response = client_for(admin_x).post(
        "/api/v1/api-keys/",
        {"organization": str(org_x.pk), "name": "x", "scopes": ["everything:write"]},
        format="json",
    )

    assert response.status_code == 400
    assert "scopes.0" in response.json()["errors"]
    assert not ApiKey.objects.exists()
