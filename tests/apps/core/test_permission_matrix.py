"""Each kind of caller against each endpoint: allowed or denied as designed.

Organization X is pending (not yet verified), so only its members, its API keys and
verifiers may see it; Y is another organization whose admin must never reach X's data.
X has a draft need (only insiders see it; a verifier's approve of a draft is a 409), and the
donor has a pledge (only the donor and verifiers see it).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from aidmatch.access import MemberRole
from apps.organizations.models import Invitation
from tests.conftest import client_for
from tests.factories import (
    ApiKeyFactory,
    MembershipFactory,
    NeedFactory,
    OrganizationFactory,
    PledgeFactory,
    UserFactory,
)

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
    # People join by invitation (no adding by email): X's admin sees and revokes X's
    # invitations, but X, not yet verified, cannot invite (409); Y's admin can invite to Y.
    ("POST", "/api/v1/organizations/{x}/members"): [401, 405, 405, 405, 405, 405, 403, 403],
    ("GET", "/api/v1/organizations/{x}/invitations"): [401, 404, 403, 200, 404, 403, 403, 403],
    ("POST", "/api/v1/organizations/{x}/invitations"): [401, 404, 403, 409, 404, 403, 403, 403],
    ("POST", "/api/v1/organizations/{y}/invitations"): [401, 404, 404, 404, 201, 403, 403, 403],
    ("POST", "/api/v1/organizations/{x}/invitations/{invitation}/revoke"): [
        *[401, 404, 403, 200, 404, 403, 403, 403]
    ],
    # Only the invited address's owner answers, with the emailed token (this one is unknown).
    ("POST", "/api/v1/invitations/accept"): [401, 404, 404, 404, 404, 404, 403, 403],
    ("GET", "/api/v1/api-keys/"): [401, 200, 200, 200, 200, 200, 403, 403],
    ("POST", "/api/v1/api-keys/"): [401, 404, 403, 201, 404, 403, 403, 403],
    ("GET", "/api/v1/auth/me"): [401, 200, 200, 200, 200, 200, 403, 403],
    ("PATCH", "/api/v1/auth/me"): [401, 200, 200, 200, 200, 200, 403, 403],
    ("GET", "/api/v1/reference/provinces/"): [200] * 8,
    ("GET", "/api/v1/reference/districts/AF0101"): [200] * 8,
    # Needs: anyone reads open ones; X's draft only its members, its keys and verifiers. Writes
    # take a member of X (a non-member naming X is a 400) or a key with needs:write.
    ("GET", "/api/v1/needs/"): [200] * 8,
    ("GET", "/api/v1/needs/{need}"): [404, 404, 200, 200, 404, 200, 200, 200],
    ("POST", "/api/v1/needs/"): [401, 400, 201, 201, 400, 400, 403, 403],
    ("PATCH", "/api/v1/needs/{need}"): [401, 404, 200, 200, 404, 403, 403, 403],
    ("POST", "/api/v1/needs/{need}/submit"): [401, 404, 200, 200, 404, 403, 403, 403],
    ("POST", "/api/v1/needs/{need}/approve"): [401, 404, 403, 403, 404, 409, 403, 403],
    # Pledges: any signed-in person pledges and sees only its own; keys need pledges:*.
    ("GET", "/api/v1/pledges/"): [401, 200, 200, 200, 200, 200, 403, 403],
    ("POST", "/api/v1/pledges/"): [401, 201, 201, 201, 201, 201, 403, 403],
    ("GET", "/api/v1/pledges/{pledge}"): [401, 200, 404, 404, 404, 200, 403, 403],
    ("POST", "/api/v1/pledges/{pledge}/withdraw"): [401, 200, 404, 404, 404, 403, 403, 403],
    ("GET", "/api/v1/allocations/"): [401, 200, 200, 200, 200, 200, 403, 403],
    ("GET", "/api/v1/disbursements/"): [401, 200, 200, 200, 200, 200, 403, 403],
    ("GET", "/api/v1/reports/"): [401, 200, 200, 200, 200, 200, 403, 403],
    # Platform work: verifiers only.
    ("GET", "/api/v1/match-runs/"): [401, 403, 403, 403, 403, 200, 403, 403],
    ("POST", "/api/v1/match-runs/"): [401, 403, 403, 403, 403, 202, 403, 403],
    ("GET", "/api/v1/audit-events/"): [401, 403, 403, 403, 403, 200, 403, 403],
    # screening is not even listed to anyone but verifiers: a 404 reveals nothing
    ("GET", "/api/v1/screening-hits/"): [401, 404, 404, 404, 404, 200, 403, 403],
    ("GET", "/api/v1/exchange-rates/"): [401, 200, 200, 200, 200, 200, 200, 200],
}

BODIES = {
    ("PATCH", "/api/v1/auth/me"): {"language": "fa"},
    ("PATCH", "/api/v1/organizations/{x}"): {"contact_phone": "+93 70 111 2222"},
    ("POST", "/api/v1/organizations/"): {"name": "New Group", "kind": "ngo", "afghan_led": True},
    ("POST", "/api/v1/organizations/{x}/members"): {"email": "{newcomer}", "role": "staff"},
    ("POST", "/api/v1/organizations/{x}/invitations"): {"email": "{newcomer}", "role": "staff"},
    ("POST", "/api/v1/organizations/{y}/invitations"): {"email": "{newcomer}", "role": "staff"},
    ("POST", "/api/v1/invitations/accept"): {"token": "inv_not-a-token"},
    ("POST", "/api/v1/api-keys/"): {"organization": "{x}", "name": "app", "scopes": ["needs:read"]},
    ("POST", "/api/v1/needs/"): {
        "organization": "{x}",
        "title": "Flour for 20 families",
        "sector": "food_security",
        "province": "AF01",
        "currency": "AFN",
        "amount": "70000.00",
        "urgency": 4,
        "deadline": "{deadline}",
    },
    ("PATCH", "/api/v1/needs/{need}"): {"urgency": 5},
    ("POST", "/api/v1/pledges/"): {"amount": "250.00", "currency": "USD"},
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
    need = NeedFactory(organization=org_x, status="draft")
    pledge = PledgeFactory(donor=clients["donor"].user)
    invitation = Invitation.objects.create(
        organization=org_x,
        email="invited@example.org",
        role=MemberRole.STAFF,
        digest="0" * 64,
        expires_at=timezone.now() + timedelta(days=7),
    )
    objects = {"need": need.pk, "pledge": pledge.pk, "y": org_y.pk, "invitation": invitation.pk}
    return org_x, clients, objects


@pytest.mark.parametrize("endpoint", list(MATRIX), ids=lambda e: f"{e[0]} {e[1]}")
@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(world, endpoint, role):
    org_x, clients, objects = world
    method, template = endpoint
    expected = MATRIX[endpoint][ROLES.index(role)]
    newcomer = UserFactory()
    path = template.format(x=org_x.pk, **objects)
    values = {
        "x": org_x.pk,
        "newcomer": newcomer.email,
        "deadline": (timezone.now().date() + timedelta(days=30)).isoformat(),
    }
    body = {
        k: (v.format(**values) if isinstance(v, str) else v)
        for k, v in BODIES.get(endpoint, {}).items()
    }

    response = getattr(clients[role], method.lower())(path, body or None, format="json")

    assert response.status_code == expected, (role, endpoint, response.content[:300])
    if expected >= 400:
        assert response["Content-Type"] == "application/problem+json"
