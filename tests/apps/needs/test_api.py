"""Needs: posting (with line items), the lifecycle, editing with ETags."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.needs.models import Need
from tests.conftest import client_for
from tests.factories import NeedFactory, PledgeFactory, propose

pytestmark = pytest.mark.django_db

IN_A_MONTH = (timezone.now().date() + timedelta(days=30)).isoformat()
FOOD_NEED = {
    "title": "Food packages for 40 families in Kabul, 5 weeks",
    "description": "Flour, rice, oil, beans and tea for widow-headed households.",
    "sector": "food_security",
    "province": "AF01",
    "district": "AF0101",
    "location_detail": "Near the bakery on the second street",
    "beneficiaries_women": 60,
    "beneficiaries_girls": 90,
    "beneficiaries_men": 20,
    "beneficiaries_boys": 80,
    "currency": "USD",
    "urgency": 5,
    "deadline": IN_A_MONTH,
    "line_items": [
        {
            "description": "Food package, family of 8, 5 weeks",
            "unit": "package",
            "unit_cost": "112.50",
            "quantity": 40,
        },
        {"description": "Delivery by truck", "unit_cost": "300.00", "quantity": 1},
    ],
}


def test_a_need_with_line_items_costs_their_sum(org_x, staff_x):
    response = client_for(staff_x).post("/api/v1/needs/", FOOD_NEED, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["amount"] == "4800.00"
    assert body["status"] == "draft"
    assert body["organization"]["id"] == str(org_x.pk)
    assert [li["amount"] for li in body["line_items"]] == ["4500.00", "300.00"]
    assert body["remaining_amount"] == "4800.00" and body["percent_funded"] == "0.0"
    assert response["ETag"] == '"1"'


def test_an_amount_that_disagrees_with_the_line_items_is_refused(org_x, staff_x):
    response = client_for(staff_x).post(
        "/api/v1/needs/", {**FOOD_NEED, "amount": "5000.00"}, format="json"
    )

    assert response.status_code == 400
    assert "amount" in response.json()["errors"]
    assert not Need.objects.exists()


def test_submit_then_approve_opens_the_need(org_x, staff_x, verifier_client):
    staff = client_for(staff_x)
    need_id = staff.post("/api/v1/needs/", FOOD_NEED, format="json").json()["id"]

    assert staff.post(f"/api/v1/needs/{need_id}/submit").json()["status"] == "submitted"
    approved = verifier_client.post(f"/api/v1/needs/{need_id}/approve")

    assert approved.status_code == 200
    assert approved.json()["status"] == "open"


def test_only_verifiers_approve(org_x, staff_x):
    staff = client_for(staff_x)
    need_id = staff.post("/api/v1/needs/", FOOD_NEED, format="json").json()["id"]
    staff.post(f"/api/v1/needs/{need_id}/submit")

    response = staff.post(f"/api/v1/needs/{need_id}/approve")

    assert response.status_code == 403
    assert Need.objects.get(pk=need_id).status == "submitted"


def test_needs_of_unverified_organizations_cannot_be_approved(verifier_client):
    need = NeedFactory(status="submitted", organization__status="pending")

    response = verifier_client.post(f"/api/v1/needs/{need.pk}/approve")

    assert response.status_code == 422
    need.refresh_from_db()
    assert need.status == "submitted"


@pytest.mark.parametrize(
    ("status", "action"),
    [("draft", "approve"), ("open", "submit"), ("cancelled", "submit"), ("funded", "approve")],
)
def test_transitions_not_allowed_from_the_current_state_are_409(status, action, verifier):
    need = NeedFactory(status=status)
    from tests.factories import MembershipFactory

    member = MembershipFactory(organization=need.organization).user
    client = client_for(verifier if action == "approve" else member)

    response = client.post(f"/api/v1/needs/{need.pk}/{action}")

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "invalid_transition"
    need.refresh_from_db()
    assert need.status == status


def test_a_draft_is_freely_editable(org_x, staff_x):
    need = NeedFactory(organization=org_x, status="draft")

    response = client_for(staff_x).patch(
        f"/api/v1/needs/{need.pk}", {"sector": "education", "amount": "700.00"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["sector"] == "education"
    assert response["ETag"] == '"2"'


def test_an_open_need_keeps_its_sector_and_place(org_x, staff_x):
    need = NeedFactory(organization=org_x)

    response = client_for(staff_x).patch(
        f"/api/v1/needs/{need.pk}", {"sector": "education"}, format="json"
    )

    assert response.status_code == 409
    assert "sector" in response.json()["errors"]


def test_an_open_need_can_rise_or_fall_but_not_below_committed(org_x, staff_x):
    need = NeedFactory(organization=org_x, amount=Decimal("1000.00"))
    pledge = PledgeFactory(amount=Decimal("1000.00"))
    allocation = propose(pledge, need, Decimal("600.00"))
    from apps.matching.services.allocations import allocation_commit

    allocation_commit(allocation_id=allocation.pk)
    client = client_for(staff_x)

    below = client.patch(f"/api/v1/needs/{need.pk}", {"amount": "599.99"}, format="json")
    assert below.status_code == 409
    assert (
        client.patch(f"/api/v1/needs/{need.pk}", {"amount": "1500.00"}, format="json").status_code
        == 200
    )
    down = client.patch(f"/api/v1/needs/{need.pk}", {"amount": "600.00"}, format="json")

    assert down.status_code == 200
    assert down.json()["status"] == "funded"
    assert down.json()["percent_funded"] == "100.0"


def test_lowering_a_need_releases_proposals_above_the_new_amount(org_x, staff_x):
    need = NeedFactory(organization=org_x, amount=Decimal("1000.00"))
    first = propose(PledgeFactory(), need, Decimal("400.00"))
    second = propose(PledgeFactory(), need, Decimal("500.00"))

    response = client_for(staff_x).patch(
        f"/api/v1/needs/{need.pk}", {"amount": "450.00"}, format="json"
    )

    assert response.status_code == 200
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("proposed", "released")
    need.refresh_from_db()
    assert need.proposed_amount == Decimal("400.00")
    assert second.pledge.__class__.objects.get(pk=second.pledge_id).proposed_amount == 0


def test_a_stale_if_match_is_412_and_changes_nothing(org_x, staff_x):
    need = NeedFactory(organization=org_x, status="draft")
    client = client_for(staff_x)
    etag = client.get(f"/api/v1/needs/{need.pk}")["ETag"]
    client.patch(
        f"/api/v1/needs/{need.pk}", {"title": "First edit"}, format="json", HTTP_IF_MATCH=etag
    )

    stale = client.patch(
        f"/api/v1/needs/{need.pk}", {"title": "Second edit"}, format="json", HTTP_IF_MATCH=etag
    )

    assert stale.status_code == 412
    need.refresh_from_db()
    assert need.title == "First edit"


def test_cancelling_releases_proposals_but_not_committed_money(org_x, staff_x):
    need = NeedFactory(organization=org_x)
    proposal = propose(PledgeFactory(), need, Decimal("100.00"))
    client = client_for(staff_x)

    assert client.post(f"/api/v1/needs/{need.pk}/cancel").json()["status"] == "cancelled"
    proposal.refresh_from_db()
    assert proposal.status == "released"

    funded = NeedFactory(organization=org_x)
    from apps.matching.services.allocations import allocation_commit

    allocation_commit(allocation_id=propose(PledgeFactory(), funded, Decimal("50.00")).pk)
    assert client.post(f"/api/v1/needs/{funded.pk}/cancel").status_code == 409


def test_other_organizations_cannot_touch_a_need(org_x, admin_y):
    need = NeedFactory(organization=org_x, status="draft")

    response = client_for(admin_y).patch(f"/api/v1/needs/{need.pk}", {"title": "x"}, format="json")

    assert response.status_code == 404


def test_overdue_needs_expire(org_x):
    from apps.needs.services import need_expire_overdue

    overdue = NeedFactory(organization=org_x)
    Need.objects.filter(pk=overdue.pk).update(deadline=timezone.now().date() - timedelta(days=1))
    proposal = propose(PledgeFactory(), overdue, Decimal("10.00"))

    assert need_expire_overdue() == 1
    overdue.refresh_from_db()
    proposal.refresh_from_db()
    assert overdue.status == "expired" and proposal.status == "released"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("urgency", 0),
        ("urgency", 6),
        ("deadline", "2020-01-01"),
        ("currency", "XYZ"),
        ("province", "AF35"),
        ("district", "AF3201"),
        ("sector", "weapons"),
        ("amount", "-5.00"),
        ("amount", "0"),
        ("amount", "10.005"),
        ("amount", "ten"),
        ("amount", 10.5),
    ],
)
def test_bad_input_is_a_4xx_and_writes_nothing(org_x, staff_x, field, value):
    body = {k: v for k, v in FOOD_NEED.items() if k != "line_items"}
    body["amount"] = "100.00"
    body[field] = value

    response = client_for(staff_x).post("/api/v1/needs/", body, format="json")

    assert response.status_code in (400, 422), response.content
    assert field in response.json().get("errors", {}), response.json()
    assert not Need.objects.exists()


def test_a_need_posted_twice_with_one_idempotency_key_is_created_once(org_x, staff_x):
    """A partner app that retries its post gets the first response back, not a second need."""
    client = client_for(staff_x)
    headers = {"HTTP_IDEMPOTENCY_KEY": "need-7f3a"}

    first = client.post("/api/v1/needs/", FOOD_NEED, format="json", **headers)
    again = client.post("/api/v1/needs/", FOOD_NEED, format="json", **headers)
    other = client.post("/api/v1/needs/", {**FOOD_NEED, "urgency": 2}, format="json", **headers)

    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true" and again["ETag"] == first["ETag"]
    assert other.status_code == 422
    assert Need.objects.filter(organization=org_x).count() == 1
