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


# --- Needs, pledges, allocations, tranches and reports ------------------------------------------


def _money_world(donor, org, n: int):
    """``n`` open needs of ``org``, each with two line items, a committed allocation from one
    of ``donor``'s pledges, a sent tranche and a report."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from apps.disbursements import services as tranches
    from apps.matching.services.allocations import allocation_commit
    from apps.needs.models import NeedLineItem
    from apps.reports.services import report_file
    from tests.factories import NeedFactory, PledgeFactory, propose

    for _ in range(n):
        need = NeedFactory(organization=org, amount=Decimal("500.00"))
        for i, cost in enumerate(("100.00", "150.00"), start=1):
            NeedLineItem.objects.create(
                need=need,
                position=i,
                description="Food package",
                unit_cost=Decimal(cost),
                quantity=2,
                amount=Decimal(cost) * 2,
            )
        pledge = PledgeFactory(
            donor=donor, amount=Decimal("300.00"), sectors=["food_security"], provinces=["AF01"]
        )
        allocation = propose(pledge, need, Decimal("200.00"))
        allocation_commit(allocation_id=allocation.pk)
        tranche = tranches.disbursement_create(
            actor=donor,
            allocation_ids=[allocation.pk],
            amount=Decimal("100.00"),
            currency=pledge.currency,
            channel="hawala",
        )
        tranches.disbursement_mark_sent(disbursement_id=tranche.pk, actor=donor)
        today = timezone.now().date()
        report_file(
            need_id=need.pk,
            period_start=today - timedelta(days=7),
            period_end=today,
            reached_women=3,
            narrative="Packages handed out at the distribution point.",
        )


LISTS = [
    "/api/v1/needs/",
    "/api/v1/needs/?ordering=-remaining_amount&sector=food_security&province=AF01",
    "/api/v1/pledges/",
    "/api/v1/allocations/",
    "/api/v1/disbursements/",
    "/api/v1/reports/",
]


# Who sees rows in each list: anonymous callers only needs (elsewhere a 401), and the
# receiving organization's members never see the donors' pledges.
CASES = [
    (path, who)
    for path in LISTS
    for who in ("anonymous", "donor", "member", "verifier")
    if (who != "anonymous" or path.startswith("/api/v1/needs/"))
    and (who != "member" or path != "/api/v1/pledges/")
]


@pytest.mark.parametrize(("path", "who"), CASES)
def test_money_lists(path, who, donor, verifier):
    org = OrganizationFactory()
    member = MembershipFactory(organization=org, role=MemberRole.STAFF).user
    callers = {"donor": donor, "verifier": verifier, "member": member, "anonymous": None}
    client = client_for(callers[who])

    _money_world(donor, org, 2)
    few = _queries(client, path)
    rows_few = len(client.get(path).json()["results"])
    _money_world(donor, org, 12)
    many = _queries(client, path)
    rows_many = len(client.get(path).json()["results"])

    assert rows_many > rows_few > 0  # the caller sees the rows: the count is not vacuous
    assert many == few
