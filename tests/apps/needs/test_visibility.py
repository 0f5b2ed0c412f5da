"""Who sees what of a need (DESIGN.md, "Data protection")."""

from decimal import Decimal

import pytest

from tests.conftest import client_for
from tests.factories import (
    MembershipFactory,
    NeedFactory,
    OrganizationFactory,
    PledgeFactory,
    propose,
)

pytestmark = pytest.mark.django_db

PUBLIC = {
    "id",
    "status",
    "sector",
    "province",
    "amount",
    "currency",
    "funded_amount",
    "remaining_amount",
    "percent_funded",
    "urgency",
    "deadline",
    "created_at",
}
RESTRICTED = PUBLIC | {
    "title",
    "description",
    "district",
    "organization",
    "committed_amount",
    "disbursed_amount",
    "beneficiaries_women",
    "beneficiaries_girls",
    "beneficiaries_men",
    "beneficiaries_boys",
    "line_items",
}
CONFIDENTIAL = RESTRICTED | {
    "organization_name",
    "location_detail",
    "proposed_amount",
    "version",
    "submitted_at",
    "approved_at",
    "updated_at",
}
# The organization's own ids and notes: its members and keys only, not verifiers.
OWN = CONFIDENTIAL | {"metadata", "external_reference"}
SECRET_NAME = "Underground Girls School of Qalat"
SECRET_PLACE = "Cellar under the tailor shop, Qalat bazaar"


@pytest.fixture
def hidden(db):
    org = OrganizationFactory(name=SECRET_NAME, sensitive=True, province_id="AF26")
    need = NeedFactory(
        organization=org,
        title="Books and a teacher's salary",
        sector_id="education",
        province_id="AF01",
        district_id="AF0101",
        location_detail=SECRET_PLACE,
    )
    return org, need


def test_the_field_matrix(hidden, donor_client, verifier_client, anon):
    org, need = hidden
    member = client_for(MembershipFactory(organization=org).user)
    path = f"/api/v1/needs/{need.pk}"

    assert set(anon.get(path).json()) == PUBLIC
    assert set(donor_client.get(path).json()) == RESTRICTED
    assert set(member.get(path).json()) == OWN
    assert set(verifier_client.get(path).json()) == CONFIDENTIAL
    assert member.get(path).json()["location_detail"] == SECRET_PLACE


def test_a_sensitive_organization_shows_a_pseudonym_and_no_district(hidden, donor_client):
    org, need = hidden

    body = donor_client.get(f"/api/v1/needs/{need.pk}").json()

    assert body["organization"] == {"id": str(org.pk), "name": org.pseudonym}
    assert body["district"] is None
    assert body["province"] == "AF01"


QUERIES = [
    "",
    "?sector=education",
    "?province=AF01",
    "?ordering=urgency",
    "?ordering=-remaining_amount",
    "?ordering=deadline",
    "?status=open",
    "?urgency=4",
    "?organization={org}",
]


@pytest.mark.parametrize("who", ["anonymous", "donor"])
def test_no_response_to_outsiders_carries_the_name_or_the_place(hidden, who, donor_client, anon):
    org, need = hidden
    client = {"anonymous": anon, "donor": donor_client}[who]
    pledge = PledgeFactory(donor=getattr(donor_client, "user", None) or PledgeFactory().donor)
    propose(pledge, need, Decimal("10.00"))
    paths = [f"/api/v1/needs/{q.format(org=org.pk)}" for q in QUERIES]
    paths += [f"/api/v1/needs/{need.pk}", "/api/schema/?format=json"]
    if who == "donor":
        paths += [
            "/api/v1/organizations/",
            f"/api/v1/organizations/{org.pk}",
            "/api/v1/allocations/",
            "/api/v1/pledges/",
            "/api/v1/needs/?q=Books",
        ]

    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.content[:200])
        raw = response.content.decode()
        assert SECRET_NAME not in raw, path
        assert SECRET_PLACE not in raw, path
        assert "AF0101" not in raw or "schema" in path, path


def test_anonymous_callers_see_only_public_needs(anon):
    NeedFactory(status="draft")
    NeedFactory(status="submitted")
    visible = NeedFactory(status="open")

    ids = [n["id"] for n in anon.get("/api/v1/needs/").json()["results"]]

    assert ids == [str(visible.pk)]


def test_members_see_their_own_drafts_but_not_others(org_x, staff_x):
    mine = NeedFactory(organization=org_x, status="draft")
    NeedFactory(status="draft")

    ids = [n["id"] for n in client_for(staff_x).get("/api/v1/needs/").json()["results"]]

    assert ids == [str(mine.pk)]


def test_anonymous_title_search_needs_a_sign_in(anon):
    response = anon.get("/api/v1/needs/", {"q": "girls"})

    assert response.status_code == 400
    assert "q" in response.json()["errors"]


def test_a_donor_sees_only_its_own_pledges(donor, donor_client):
    mine = PledgeFactory(donor=donor)
    PledgeFactory()

    ids = [p["id"] for p in donor_client.get("/api/v1/pledges/").json()["results"]]

    assert ids == [str(mine.pk)]


def test_an_anonymous_pledge_shows_as_anonymous_to_the_organization(org_x, staff_x):
    need = NeedFactory(organization=org_x)
    pledge = PledgeFactory(anonymous=True, donor__full_name="Famous Philanthropist")
    propose(pledge, need, Decimal("25.00"))

    body = client_for(staff_x).get("/api/v1/allocations/").json()["results"]
    mine = client_for(pledge.donor).get("/api/v1/allocations/").json()["results"]

    assert [a["donor"] for a in body] == ["anonymous donor"]
    assert [a["donor"] for a in mine] == ["Famous Philanthropist"]
