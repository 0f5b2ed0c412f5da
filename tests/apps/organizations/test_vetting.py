"""Vetting: verifiers verify, reject, suspend and reinstate, with a reason."""

from decimal import Decimal

import pytest

from apps.organizations.models import VettingDecision
from tests.conftest import client_for
from tests.factories import NeedFactory, OrganizationFactory, PledgeFactory, propose

pytestmark = pytest.mark.django_db


def test_a_verifier_verifies_a_pending_organization(verifier_client):
    org = OrganizationFactory(status="pending")

    response = verifier_client.post(
        f"/api/v1/organizations/{org.pk}/verify", {"reason": "registration checked"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "verified"
    decision = VettingDecision.objects.get(organization=org)
    assert (decision.from_status, decision.to_status) == ("pending", "verified")


def test_a_reason_is_required(verifier_client):
    org = OrganizationFactory(status="pending")

    response = verifier_client.post(f"/api/v1/organizations/{org.pk}/verify", {}, format="json")

    assert response.status_code == 400
    org.refresh_from_db()
    assert org.status == "pending"


def test_only_verifiers_vet(org_x, admin_x):
    response = client_for(admin_x).post(
        f"/api/v1/organizations/{org_x.pk}/suspend", {"reason": "x"}, format="json"
    )

    assert response.status_code == 403


def test_suspending_releases_proposals_and_blocks_tranches(verifier_client):
    org = OrganizationFactory()
    need = NeedFactory(organization=org)
    proposal = propose(PledgeFactory(), need, Decimal("50.00"))

    response = verifier_client.post(
        f"/api/v1/organizations/{org.pk}/suspend", {"reason": "audit findings"}, format="json"
    )

    assert response.json()["status"] == "suspended"
    proposal.refresh_from_db()
    need.refresh_from_db()
    assert proposal.status == "released" and need.proposed_amount == 0
    assert VettingDecision.objects.get(organization=org).released_proposals == 1

    reinstated = verifier_client.post(
        f"/api/v1/organizations/{org.pk}/reinstate", {"reason": "cleared"}, format="json"
    )
    assert reinstated.json()["status"] == "verified"


@pytest.mark.parametrize(
    ("status", "action"),
    [("rejected", "verify"), ("pending", "suspend"), ("verified", "reinstate")],
)
def test_transitions_that_do_not_apply_are_409(verifier_client, status, action):
    org = OrganizationFactory(status=status)

    response = verifier_client.post(
        f"/api/v1/organizations/{org.pk}/{action}", {"reason": "r"}, format="json"
    )

    assert response.status_code == 409
