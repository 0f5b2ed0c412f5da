"""Each kind of caller against each endpoint: allowed or denied as designed.

Organization X is pending (not yet verified), so only its members, its API keys and
verifiers may see it; Y is another organization whose admin must never reach X's data.
"""

import pytest

from aidmatch.access import MemberRole
from tests.conftest import client_for
from tests.factories import ApiKeyFactory, MembershipFactory, OrganizationFactory, UserFactory

ROLES = [
    "anonymous",
    "donor",
    "staff_x",
    "admin_x",
    "admin_y",
    "verifier",
    "key_x",
    "key_x_noscope",
]

# endpoint -> expected status per role, in ROLES order
MATRIX = {
    ("GET", "/api/v1/organizations/"): [401, 200, 200, 200, 200, 200, 200, 403],
    ("GET", "/api/v1/organizations/{x}"): [401, 404, 200, 200, 404, 200, 200, 403],
    ("PATCH", "/api/v1/organizations/{x}"): [401, 404, 403, 200, 404, 403, 403, 403],
    ("POST", "/api/v1/organizations/"): [401, 201, 201, 201, 201, 201, 403, 403],
    ("GET", "/api/v1/organizations/{x}/members"): [401, 404, 200, 200, 404, 200, 403, 403],
    ("POST", "/api/v1/organizations/{x}/members"): [401, 404, 403, 201, 404, 403, 403, 403],
    ("GET", "/api/v1/api-keys/"): [401, 200, 200, 200, 200, 200, 403, 403],
    ("POST", "/api/v1/api-keys/"): [401, 404, 403, 201, 404, 403, 403, 403],
    ("GET", "/api/v1/auth/me"): [401, 200, 200, 200, 200, 200, 403, 403],
    ("GET", "/api/v1/reference/provinces/"): [200] * 8,
    ("GET", "/api/v1/reference/districts/AF0101"): [200] * 8,
}

BODIES = {
    ("PATCH", "/api/v1/organizations/{x}"): {"contact_phone": "+93 70 111 2222"},
    ("POST", "/api/v1/organizations/"): {"name": "New Group", "kind": "ngo", "afghan_led": True},
    ("POST", "/api/v1/organizations/{x}/members"): {"email": "{newcomer}", "role": "staff"},
    ("POST", "/api/v1/api-keys/"): {"organization": "{x}", "name": "app", "scopes": ["needs:read"]},
}


@pytest.fixture
def world(db, verifier):
    org_x = OrganizationFactory(status="pending")
    org_y = OrganizationFactory()
    staff_x = MembershipFactory(organization=org_x, role=MemberRole.STAFF).user
    admin_x = MembershipFactory(organization=org_x, role=MemberRole.ADMIN).user
    admin_y = MembershipFactory(organization=org_y, role=MemberRole.ADMIN).user
    _, key_x = ApiKeyFactory.create(organization=org_x, scopes=["organization:read", "needs:read"])
    _, key_x_noscope = ApiKeyFactory.create(organization=org_x, scopes=["needs:read"])
    clients = {
        "anonymous": client_for(),
        "donor": client_for(UserFactory()),
        "staff_x": client_for(staff_x),
        "admin_x": client_for(admin_x),
        "admin_y": client_for(admin_y),
        "verifier": client_for(verifier),
        "key_x": client_for(api_key=key_x),
        "key_x_noscope": client_for(api_key=key_x_noscope),
    }
    return org_x, clients


@pytest.mark.parametrize("endpoint", list(MATRIX), ids=lambda e: f"{e[0]} {e[1]}")
@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(world, endpoint, role):
    org_x, clients = world
    method, template = endpoint
    expected = MATRIX[endpoint][ROLES.index(role)]
    newcomer = UserFactory()
    path = template.format(x=org_x.pk)
    body = {
        k: (v.format(x=org_x.pk, newcomer=newcomer.email) if isinstance(v, str) else v)
        for k, v in BODIES.get(endpoint, {}).items()
    }

    response = getattr(clients[role], method.lower())(path, body or None, format="json")

    assert response.status_code == expected, (role, endpoint, response.content[:300])
    if expected >= 400:
        assert response["Content-Type"] == "application/problem+json"
