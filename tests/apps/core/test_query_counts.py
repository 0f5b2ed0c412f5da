"""A list costs the same number of queries whatever its length (no N+1)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aidmatch.access import MemberRole
from tests.conftest import client_for
from tests.factories import ApiKeyFactory, MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["donor", "verifier", "member"])
def test_organization_list(who, donor, verifier):
    org = OrganizationFactory()
    member = MembershipFactory(organization=org, role=MemberRole.ADMIN).user
    client = client_for({"donor": donor, "verifier": verifier, "member": member}[who])

    OrganizationFactory.create_batch(2)
    few = _queries(client, "/api/v1/organizations/")
    OrganizationFactory.create_batch(30, sensitive=True)
    many = _queries(client, "/api/v1/organizations/")

    assert many == few


def test_api_key_list(org_x, admin_x):
    client = client_for(admin_x)
    ApiKeyFactory.create(organization=org_x, scopes=["needs:read"])
    few = _queries(client, "/api/v1/api-keys/")
    for i in range(20):
        ApiKeyFactory.create(organization=org_x, scopes=["needs:read"], name=f"k{i}")
    many = _queries(client, "/api/v1/api-keys/")

    assert many == few


def test_members_list(org_x, admin_x):
    client = client_for(admin_x)
    few = _queries(client, f"/api/v1/organizations/{org_x.pk}/members")
    MembershipFactory.create_batch(20, organization=org_x)
    many = _queries(client, f"/api/v1/organizations/{org_x.pk}/members")

    assert many == few


def test_district_list(anon):
    assert _queries(anon, "/api/v1/reference/districts/") == 1
