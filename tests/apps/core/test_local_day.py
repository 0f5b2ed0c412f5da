"""Date-only fields are days in the organization's time zone (Asia/Kabul by default, UTC+4:30),
not UTC's. At 2026-11-25 20:00 UTC it is already 2026-11-26 00:30 in Kabul: a receipt or report
dated the 26th is today's, the 27th is still the future, and a need due on the 25th is over."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.core.dates import local_today
from apps.disbursements import services as tranches
from apps.matching.services.allocations import allocation_commit
from apps.needs.models import Need
from apps.needs.tasks import expire_overdue_needs
from apps.reference.models import Currency
from tests.conftest import client_for
from tests.factories import MembershipFactory, NeedFactory, OrganizationFactory, PledgeFactory
from tests.factories import propose as proposal

pytestmark = pytest.mark.django_db
D = Decimal
KABUL_JUST_AFTER_MIDNIGHT = "2026-11-25T20:00:00+00:00"  # 2026-11-26 00:30 in Kabul


@pytest.fixture
def food_program(db):
    org = OrganizationFactory(name="Herat Family Food Relief")
    staff = MembershipFactory(organization=org).user
    need = NeedFactory(organization=org, amount=D("1000.00"), currency_id="USD")
    return org, staff, need


def sent_tranche(donor, org, need):
    pledge = PledgeFactory(donor=donor, amount=D("100.00"), currency_id="USD")
    allocation = allocation_commit(
        allocation_id=proposal(pledge, need, D("100.00"), D("100.00")).pk
    )
    tranche = tranches.disbursement_create(
        actor=donor,
        allocation_ids=[allocation.pk],
        amount=D("100.00"),
        currency=Currency.objects.get(code="USD"),
        channel="bank",
    )
    return tranches.disbursement_mark_sent(disbursement_id=tranche.pk, actor=donor)


def test_today_is_kabuls_day(clock):
    moment = clock(KABUL_JUST_AFTER_MIDNIGHT)

    assert moment.date().isoformat() == "2026-11-25"
    assert local_today().isoformat() == "2026-11-26"
    assert local_today(OrganizationFactory.build()).isoformat() == "2026-11-26"
    assert local_today(OrganizationFactory.build(time_zone="UTC")).isoformat() == "2026-11-25"


def test_a_report_dated_today_in_kabul_is_accepted_and_tomorrow_refused(food_program, clock):
    _org, staff, need = food_program
    clock(KABUL_JUST_AFTER_MIDNIGHT)
    client = client_for(staff)

    def report(day):
        return client.post(
            "/api/v1/reports/",
            {"need": str(need.pk), "period_start": day, "period_end": day},
            format="json",
        )

    assert report("2026-11-26").status_code == 201
    refused = report("2026-11-27")
    assert refused.status_code == 422
    assert refused.json()["errors"] == {"period_start": ["In the future."]}


def test_a_receipt_dated_today_in_kabul_is_accepted_and_tomorrow_refused(
    food_program, donor, clock
):
    org, staff, need = food_program
    first, second = sent_tranche(donor, org, need), sent_tranche(donor, org, need)
    clock(KABUL_JUST_AFTER_MIDNIGHT)
    client = client_for(staff)

    def confirm(tranche, day):
        return client.post(
            f"/api/v1/disbursements/{tranche.pk}/confirm-receipt",
            {"received_amount": "100.00", "received_currency": "USD", "received_date": day},
            format="json",
        )

    refused = confirm(first, "2026-11-27")
    assert refused.status_code == 422, refused.content
    assert "today is 2026-11-26 in Asia/Kabul" in refused.json()["detail"]
    assert confirm(first, "2026-11-26").status_code == 200
    undated = client.post(
        f"/api/v1/disbursements/{second.pk}/confirm-receipt",
        {"received_amount": "100.00", "received_currency": "USD"},
        format="json",
    )
    assert undated.json()["received_date"] == "2026-11-26"  # today, in Kabul
    refund = client.post(
        f"/api/v1/disbursements/{second.pk}/refunds",
        {"amount": "1.00", "currency": "USD", "reason": "change", "refund_date": "2026-11-26"},
        format="json",
    )
    assert refund.status_code == 201, refund.content


def test_a_need_expires_once_its_deadline_day_has_ended_in_kabul(clock):
    org = OrganizationFactory()
    due_25th = NeedFactory(organization=org, deadline="2026-11-25")
    due_26th = NeedFactory(organization=org, deadline="2026-11-26")

    clock("2026-11-25T19:29:00+00:00")  # 23:59 on the 25th in Kabul: the 25th is not over
    assert expire_overdue_needs() == 0
    clock(KABUL_JUST_AFTER_MIDNIGHT)
    assert expire_overdue_needs() == 1

    assert Need.objects.get(pk=due_25th.pk).status == "expired"
    assert Need.objects.get(pk=due_26th.pk).status == "open"


def test_each_organization_is_judged_in_its_own_time_zone(clock):
    kabul = NeedFactory(organization=OrganizationFactory(), deadline="2026-11-25")
    new_york = NeedFactory(
        organization=OrganizationFactory(time_zone="America/New_York"), deadline="2026-11-25"
    )
    clock("2026-11-26T03:00:00+00:00")  # 07:30 on the 26th in Kabul, 22:00 on the 25th in NY

    assert expire_overdue_needs() == 1

    assert Need.objects.get(pk=kabul.pk).status == "expired"
    assert Need.objects.get(pk=new_york.pk).status == "open"


def test_a_need_due_today_in_kabul_can_still_be_posted(food_program, clock):
    _org, staff, _need = food_program
    clock(KABUL_JUST_AFTER_MIDNIGHT)
    client = client_for(staff)

    def post(deadline):
        return client.post(
            "/api/v1/needs/",
            {
                "title": "Winter food packages",
                "sector": "food_security",
                "province": "AF01",
                "currency": "USD",
                "amount": "500.00",
                "urgency": 4,
                "deadline": deadline,
            },
            format="json",
        )

    assert post("2026-11-26").status_code == 201
    assert post("2026-11-25").status_code == 422  # yesterday in Kabul, today in UTC


def test_an_organizations_time_zone_is_an_iana_name():
    organization = OrganizationFactory.build(time_zone="Asia/Kabul ")

    with pytest.raises(ValidationError) as refused:
        organization.full_clean(exclude=["pseudonym", "province", "created_by"])

    assert "time_zone" in refused.value.message_dict
    assert OrganizationFactory().time_zone == "Asia/Kabul"
