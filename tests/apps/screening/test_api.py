"""The hits API: verifiers list, filter, clear and confirm; everyone else gets 404."""

from decimal import Decimal

import pytest

from apps.organizations.models import VettingDecision
from apps.screening.models import ScreeningHit
from apps.screening.services import organization_screen
from tests.apps.screening.helpers import load_samples
from tests.conftest import client_for
from tests.factories import NeedFactory, OrganizationFactory, PledgeFactory, propose

pytestmark = pytest.mark.django_db
URL = "/api/v1/screening-hits/"


@pytest.fixture
def held():
    """A verified organization with a proposal, then a list load finds its director listed."""
    load_samples()
    org = OrganizationFactory(
        status="verified",
        principals=[{"name": "Mullah Abdul-Ghani Beradar", "role": "director"}],
    )
    need = NeedFactory(organization=org)
    propose(PledgeFactory(), need, Decimal("25.00"))
    organization_screen(organization_id=org.pk, trigger="list load")
    org.refresh_from_db()
    assert org.status == "screening"
    return org


def test_verifiers_list_hits_with_the_principal_and_the_entry(held, verifier_client):
    response = verifier_client.get(URL, {"organization": str(held.pk), "resolution": "open"})

    assert response.status_code == 200, response.content
    [hit] = response.json()["results"]
    assert hit["subject"] == "Mullah Abdul-Ghani Beradar" and hit["subject_kind"] == "principal"
    assert hit["entry_ref"] == "TAi.024" and hit["source"] == "un"
    assert hit["resolution"] == "open" and Decimal(hit["score"]) >= 88
    assert hit["entry"]["primary_name"] == "ABDUL GHANI BARADAR ABDUL AHMAD TURK"
    assert hit["reasons"]


def test_filters_by_source_and_resolution(held, verifier_client):
    assert verifier_client.get(URL, {"source": "ofac"}).json()["results"] == []
    assert verifier_client.get(URL, {"resolution": "confirmed"}).json()["results"] == []
    assert verifier_client.get(URL, {"resolution": "maybe"}).status_code == 400


def test_everyone_but_verifiers_gets_404(held, org_x, admin_x, donor_client):
    hit = ScreeningHit.objects.get(organization=held)
    for client in (donor_client, client_for(admin_x)):
        assert client.get(URL).status_code == 404
        assert client.get(f"{URL}{hit.pk}").status_code == 404
        response = client.post(f"{URL}{hit.pk}/clear", {"reason": "x"}, format="json")
        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/problem+json")
    hit.refresh_from_db()
    assert hit.resolution == ""


def test_clearing_the_last_hit_returns_the_organization_to_verified(held, verifier_client):
    hit = ScreeningHit.objects.get(organization=held)

    response = verifier_client.post(
        f"{URL}{hit.pk}/clear",
        {"reason": "Different person: born 1990, tazkira checked"},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["resolution"] == "false_positive" and body["organization_status"] == "verified"
    held.refresh_from_db()
    assert held.status == "verified"
    assert VettingDecision.objects.filter(organization=held, action="screening_clear").exists()
    again = verifier_client.post(f"{URL}{hit.pk}/clear", {"reason": "again"}, format="json")
    assert again.status_code == 409


def test_a_reason_is_required(held, verifier_client):
    hit = ScreeningHit.objects.get(organization=held)

    response = verifier_client.post(f"{URL}{hit.pk}/confirm", {}, format="json")

    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    hit.refresh_from_db()
    held.refresh_from_db()
    assert hit.resolution == "" and held.status == "screening"


def test_confirming_rejects_the_organization(held, verifier_client):
    hit = ScreeningHit.objects.get(organization=held)

    response = verifier_client.post(
        f"{URL}{hit.pk}/confirm", {"reason": "Same person: photo and birth date"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["resolution"] == "confirmed"
    held.refresh_from_db()
    assert held.status == "rejected"
    assert VettingDecision.objects.get(organization=held, action="reject").to_status == "rejected"


def test_verify_is_refused_while_a_hit_is_open(held, verifier_client):
    response = verifier_client.post(
        f"/api/v1/organizations/{held.pk}/verify", {"reason": "looks fine"}, format="json"
    )
    assert response.status_code == 409


def test_the_list_costs_the_same_queries_whatever_its_length(
    held, verifier_client, django_assert_max_num_queries
):
    for name in ("Amir Khan Motaqi", "Noorudin Torabi", "Nurullah Nuri"):
        org = OrganizationFactory(status="pending", principals=[{"name": name, "role": "x"}])
        organization_screen(organization_id=org.pk, trigger="test")
    assert ScreeningHit.objects.count() >= 4
    with django_assert_max_num_queries(12):
        response = verifier_client.get(URL)
    assert response.status_code == 200 and len(response.json()["results"]) >= 4


@pytest.mark.parametrize(("birth_year", "weighs"), [(1977, "matches"), (1990, "differs")])
def test_a_principals_birth_year_entered_through_the_api_weighs_in_the_screening(
    donor_client, birth_year, weighs
):
    load_samples()
    response = donor_client.post(
        "/api/v1/organizations/",
        {
            "name": "Paktia Wheat Cooperative",
            "kind": "community_group",
            "afghan_led": True,
            "principals": [
                {
                    "name": "Sirajuddin Haqqani",
                    "role": "director",
                    "birth_year": birth_year,
                    "nationality": "Afghanistan",
                }
            ],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    hit = ScreeningHit.objects.get(organization_id=response.json()["id"], entry_ref="TAi.144")
    assert any(f"birth year {birth_year} {weighs}" in reason for reason in hit.reasons)
    # a near-exact listed name stays a hit for a verifier, whatever the declared birth year
    assert hit.score >= Decimal("88")


def test_an_impossible_birth_year_is_refused_and_nothing_is_registered(donor_client):
    response = donor_client.post(
        "/api/v1/organizations/",
        {
            "name": "Paktia Wheat Cooperative",
            "kind": "community_group",
            "afghan_led": True,
            "principals": [{"name": "A Director", "role": "director", "birth_year": 1200}],
        },
        format="json",
    )

    assert response.status_code == 400
    assert "principals.0.birth_year" in response.json()["errors"]
    from apps.organizations.models import Organization

    assert not Organization.objects.filter(name="Paktia Wheat Cooperative").exists()
