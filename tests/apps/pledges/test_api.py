"""Pledges: earmarks, idempotent creation, reduction and withdrawal, the lifecycle."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.matching.services.allocations import allocation_commit
from apps.pledges.models import Pledge
from apps.pledges.services import pledge_expire_due
from tests.conftest import client_for
from tests.factories import (
    ApiKeyFactory,
    MembershipFactory,
    NeedFactory,
    OrganizationFactory,
    PledgeFactory,
    propose,
)

pytestmark = pytest.mark.django_db

PLEDGE = {
    "amount": "2500.00",
    "currency": "USD",
    "earmark_sectors": ["food_security", "education"],
    "earmark_provinces": ["AF01", "AF32"],
    "commit_window": 48,
    "public_message": "For the families of Kabul and Herat",
}


def test_pledge_with_earmarks_and_an_idempotency_key(donor_client, donor):
    key = str(uuid.uuid4())

    first = donor_client.post("/api/v1/pledges/", PLEDGE, format="json", HTTP_IDEMPOTENCY_KEY=key)
    retry = donor_client.post("/api/v1/pledges/", PLEDGE, format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert first.status_code == 201, first.content
    body = first.json()
    assert body["status"] == "open"
    assert body["amount"] == body["available_amount"] == "2500.00"
    assert body["earmark_sectors"] == ["education", "food_security"]
    assert body["commit_window"] == 48
    assert retry.json() == body
    assert Pledge.objects.filter(donor=donor).count() == 1


def test_a_donor_institution_pledges_through_its_api_key():
    institution = OrganizationFactory(kind="donor_institution")
    _, key = ApiKeyFactory.create(
        organization=institution, scopes=["pledges:write", "pledges:read"]
    )
    client = client_for(api_key=key)

    created = client.post("/api/v1/pledges/", {"amount": "100", "currency": "EUR"}, format="json")

    assert created.status_code == 201, created.content
    assert Pledge.objects.get(pk=created.json()["id"]).donor_organization == institution
    assert [p["id"] for p in client.get("/api/v1/pledges/").json()["results"]] == [
        created.json()["id"]
    ]


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"amount": "0"}, 400, "amount"),
        ({"amount": "-1"}, 400, "amount"),
        ({"amount": "12.345"}, 400, "amount"),
        ({"amount": 12.5}, 400, "amount"),
        ({"amount": "1e3"}, 400, "amount"),
        ({"amount": "NaN"}, 400, "amount"),
        ({"amount": "100000000000000"}, 400, "amount"),
        ({"currency": "ZZZ"}, 400, "currency"),
        ({"earmark_sectors": ["nope"]}, 400, "earmark_sectors"),
        ({"earmark_provinces": ["AF99"]}, 400, "earmark_provinces"),
        ({"commit_window": 0}, 400, "commit_window"),
        ({"expires_at": "2001-01-01T00:00:00Z"}, 422, "expires_at"),
        ({"anonymous": "maybe"}, 400, "anonymous"),
        ({"status": "fulfilled"}, 400, "status"),
    ],
)
def test_bad_pledges_are_refused_and_nothing_is_written(donor_client, change, status, field):
    response = donor_client.post("/api/v1/pledges/", {**PLEDGE, **change}, format="json")

    assert response.status_code == status, response.content
    assert field in response.json()["errors"]
    assert not Pledge.objects.exists()


def test_yen_has_no_minor_unit(donor_client):
    assert (
        donor_client.post(
            "/api/v1/pledges/", {"amount": "100.5", "currency": "JPY"}, format="json"
        ).status_code
        == 400
    )
    ok = donor_client.post("/api/v1/pledges/", {"amount": "100", "currency": "JPY"}, format="json")
    assert ok.json()["amount"] == "100"


def test_an_earmark_on_a_need_that_is_not_open_is_422_with_the_reason(donor_client):
    need = NeedFactory(status="funded")  # public, so the donor may know it: say why not

    response = donor_client.post(
        "/api/v1/pledges/", {**PLEDGE, "earmark_need": str(need.pk)}, format="json"
    )

    assert response.status_code == 422
    assert "funded" in response.json()["errors"]["earmark_need"][0]
    assert not Pledge.objects.exists()


@pytest.mark.parametrize("need_status", ["draft", "submitted", "cancelled", "expired"])
def test_an_earmark_on_a_need_hidden_from_the_donor_is_not_found_like_a_missing_one(
    donor_client, need_status
):
    hidden, absent = NeedFactory(status=need_status), uuid.uuid4()

    response = donor_client.post(
        "/api/v1/pledges/", {**PLEDGE, "earmark_need": str(hidden.pk)}, format="json"
    )
    missing = donor_client.post(
        "/api/v1/pledges/", {**PLEDGE, "earmark_need": str(absent)}, format="json"
    )

    assert response.status_code == missing.status_code == 400
    said = response.json()["errors"]["earmark_need"][0].replace(str(hidden.pk), "ID")
    assert said == missing.json()["errors"]["earmark_need"][0].replace(str(absent), "ID")
    assert not Pledge.objects.exists()


def test_an_earmark_on_a_draft_of_the_donors_own_organization_is_422(donor, donor_client):
    need = NeedFactory(status="draft")
    MembershipFactory(user=donor, organization=need.organization)

    response = donor_client.post(
        "/api/v1/pledges/", {**PLEDGE, "earmark_need": str(need.pk)}, format="json"
    )

    assert response.status_code == 422
    assert "draft" in response.json()["errors"]["earmark_need"][0]


def test_an_earmark_on_an_organization_the_donor_cannot_see_is_not_found(donor_client):
    org = OrganizationFactory(status="pending")

    response = donor_client.post(
        "/api/v1/pledges/", {**PLEDGE, "earmark_organization": str(org.pk)}, format="json"
    )

    assert response.status_code == 400
    assert "does not exist" in response.json()["errors"]["earmark_organization"][0]
    assert not Pledge.objects.exists()


def test_an_earmark_on_a_suspended_organization_a_verifier_names_is_422(verifier_client):
    org = OrganizationFactory(status="suspended")

    response = verifier_client.post(
        "/api/v1/pledges/", {**PLEDGE, "earmark_organization": str(org.pk)}, format="json"
    )

    assert response.status_code == 422
    assert "not verified" in response.json()["errors"]["earmark_organization"][0]


def test_reduce_down_to_committed_never_below(donor, donor_client):
    pledge = PledgeFactory(donor=donor, amount=Decimal("1000.00"))
    allocation_commit(allocation_id=propose(pledge, NeedFactory(), Decimal("300.00")).pk)
    proposal = propose(pledge, NeedFactory(), Decimal("500.00"))

    below = donor_client.patch(f"/api/v1/pledges/{pledge.pk}", {"amount": "299.99"}, format="json")
    assert below.status_code == 409
    reduced = donor_client.patch(
        f"/api/v1/pledges/{pledge.pk}", {"amount": "600.00"}, format="json"
    )

    assert reduced.status_code == 200
    assert reduced.json()["amount"] == "600.00"
    assert reduced.json()["committed_amount"] == "300.00"
    assert reduced.json()["proposed_amount"] == "0.00"
    proposal.refresh_from_db()
    assert proposal.status == "released"
    assert proposal.need.__class__.objects.get(pk=proposal.need_id).proposed_amount == 0


def test_withdraw_keeps_committed_money_and_releases_the_rest(donor, donor_client):
    pledge = PledgeFactory(donor=donor, amount=Decimal("1000.00"))
    allocation_commit(allocation_id=propose(pledge, NeedFactory(), Decimal("300.00")).pk)

    body = donor_client.post(f"/api/v1/pledges/{pledge.pk}/withdraw").json()

    assert body["amount"] == "300.00"
    assert body["original_amount"] == "1000.00"
    assert body["status"] == "fully_allocated"


def test_withdraw_with_nothing_committed_ends_the_pledge(donor, donor_client):
    pledge = PledgeFactory(donor=donor)
    propose(pledge, NeedFactory(), Decimal("10.00"))

    body = donor_client.post(f"/api/v1/pledges/{pledge.pk}/withdraw").json()

    assert body["status"] == "withdrawn"
    assert body["amount"] == "0.00"
    again = donor_client.patch(f"/api/v1/pledges/{pledge.pk}", {"amount": "0.00"}, format="json")
    assert again.status_code in (400, 409)


def test_someone_elses_pledge_is_a_404(donor_client):
    other = PledgeFactory()

    assert donor_client.get(f"/api/v1/pledges/{other.pk}").status_code == 404
    assert donor_client.post(f"/api/v1/pledges/{other.pk}/withdraw").status_code == 404


def test_pledge_status_follows_its_allocations(donor):
    pledge = PledgeFactory(donor=donor, amount=Decimal("100.00"))
    first = propose(pledge, NeedFactory(), Decimal("40.00"))
    pledge.refresh_from_db()
    assert pledge.status == "partially_allocated"

    propose(pledge, NeedFactory(), Decimal("60.00"))
    pledge.refresh_from_db()
    assert pledge.status == "fully_allocated"

    from apps.matching.services.allocations import allocation_decline

    allocation_decline(allocation_id=first.pk, actor=donor)
    pledge.refresh_from_db()
    assert pledge.status == "partially_allocated"
    assert pledge.available_amount == Decimal("40.00")


def test_expired_pledges_end(donor):
    pledge = PledgeFactory(donor=donor, expires_at=timezone.now() + timedelta(days=1))
    Pledge.objects.filter(pk=pledge.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert pledge_expire_due() == 1
    pledge.refresh_from_db()
    assert pledge.status == "expired"
