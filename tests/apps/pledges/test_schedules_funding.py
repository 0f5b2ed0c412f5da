"""The organization's funding page counts the recurring pledges earmarked to it: expected income
per month for 12 months, what they brought in, and donors shown as the page shows donors."""

from datetime import date
from decimal import Decimal

import pytest

from aidmatch.access import MemberRole
from apps.matching.services.allocations import allocation_commit
from apps.pledges import schedules
from apps.pledges.models import Pledge
from apps.pledges.tasks import make_due_scheduled_pledges
from apps.reference.models import Currency
from tests.conftest import client_for
from tests.factories import (
    ApiKeyFactory,
    MembershipFactory,
    NeedFactory,
    OrganizationFactory,
    UserFactory,
    propose,
)

pytestmark = pytest.mark.django_db


def give(donor, **kwargs):
    fields = {
        "donor": donor,
        "amount": Decimal("100.00"),
        "currency": Currency.objects.get(code="USD"),
        "interval": "monthly",
        "day_of_month": 10,
        "start_date": date(2026, 12, 1),
    }
    return schedules.schedule_create(**(fields | kwargs))


@pytest.fixture
def school(db):
    return OrganizationFactory(name="Girls' School Network Bamyan")


def test_expected_income_by_month_with_donors_disclosed_as_they_allow(clock, school):
    clock("2026-11-30T08:00:00+00:00")
    need = NeedFactory(organization=school, amount=Decimal("5000.00"))
    named = UserFactory(full_name="Farida Named")
    hidden = UserFactory(full_name="Secret Giver")
    give(named, earmark_organization=school)  # monthly on the 10th, from December
    give(
        hidden,
        earmark_need=need,
        anonymous=True,
        interval="quarterly",
        amount=Decimal("300.00"),
        day_of_month=31,
        occurrences_limit=2,
    )  # 31 Dec 2026, 31 Mar 2027
    give(named, earmark_sectors=["education"])  # may go anywhere: not counted
    give(named, earmark_organization=OrganizationFactory())  # another organization's
    paused = give(named, earmark_organization=school, amount=Decimal("7.00"))
    schedules.schedule_pause(schedule_id=paused.pk, actor=named)
    member = MembershipFactory(organization=school, role=MemberRole.STAFF).user

    response = client_for(member).get(f"/api/v1/organizations/{school.pk}/funding")
    assert response.status_code == 200, response.content
    recurring = response.json()["recurring"]
    months = {row["month"]: row["amount"] for row in recurring["expected_by_month"]}
    assert list(months) == [f"{y}-{m:02d}" for y, m in [(2026, 11), (2026, 12)]] + [
        f"2027-{m:02d}" for m in range(1, 11)
    ]
    assert months["2026-11"] == "0.00"
    assert months["2026-12"] == "400.00"  # 100 on the 10th, 300 on the 31st
    assert months["2027-01"] == "100.00"
    assert months["2027-03"] == "400.00"
    assert months["2027-06"] == "100.00"
    assert {row["currency"] for row in recurring["expected_by_month"]} == {"USD"}
    donors = sorted(s["donor"] for s in recurring["schedules"])
    assert donors == ["Farida Named", "anonymous donor"]
    assert "Secret Giver" not in response.content.decode()
    assert recurring["brought_in"] == []


def test_what_recurring_pledges_brought_in(clock, school):
    clock("2026-11-30T08:00:00+00:00")
    need = NeedFactory(organization=school, amount=Decimal("5000.00"))
    donor = UserFactory(full_name="Monthly Mina")
    schedule = give(donor, earmark_need=need, day_of_month=1)
    clock("2026-12-01T00:00:00+00:00")
    assert make_due_scheduled_pledges.delay().get() == 1
    pledge = Pledge.objects.get(schedule=schedule)
    allocation_commit(allocation_id=propose(pledge, need, Decimal("100.00")).pk, actor=donor)

    _, key = ApiKeyFactory.create(organization=school, scopes=["organization:read"])
    response = client_for(api_key=key).get(f"/api/v1/organizations/{school.pk}/funding")
    assert response.status_code == 200
    recurring = response.json()["recurring"]
    assert recurring["brought_in"] == [
        {"currency": "USD", "expected": "100.00", "received": "0.00", "refunded": "0.00"}
    ]
    months = {row["month"]: row["amount"] for row in recurring["expected_by_month"]}
    assert months["2026-12"] == "0.00"  # December's pledge is made: no longer expected
    assert months["2027-01"] == "100.00"


def test_others_cannot_see_the_funding_page(clock, school, donor, verifier):
    clock("2026-11-30T08:00:00+00:00")
    give(donor, earmark_organization=school)
    outsider = MembershipFactory(organization=OrganizationFactory()).user
    url = f"/api/v1/organizations/{school.pk}/funding"
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(donor).get(url).status_code == 404
    assert client_for(verifier).get(url).status_code == 200
