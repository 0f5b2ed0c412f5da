"""Issue 16 end to end: a donor gives monthly to girls' schools in Herat through the API; the
periodic task makes each month's pledge, matching commits it to the school's need, and at the
year's end the donor's statement (JSON and PDF) shows every gift, with totals that the ledger
agrees with. Real services, real Celery tasks (run in-process), real PostgreSQL."""

import io
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

from aidmatch.ledger import AccountKind, account_key
from apps.ledger.selectors import balances
from apps.matching.models import Allocation
from apps.matching.tasks import run_matching
from apps.pledges.models import Pledge
from apps.pledges.tasks import make_due_scheduled_pledges
from tests.conftest import client_for
from tests.factories import NeedFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

STATEMENT = "/api/v1/donors/me/statement"


def test_a_donor_gives_monthly_to_girls_schools_in_herat_and_files_a_statement(
    clock, donor, donor_client
):
    clock("2026-01-20T08:00:00+00:00")
    school = OrganizationFactory(name="Herat Girls' Learning Circles", kind="school_network")
    classes = NeedFactory(
        organization=school,
        title="Teachers' pay, spring term",
        sector_id="education",
        province_id="AF32",  # Herat
        district_id="AF3201",
        amount=Decimal("1000.00"),
        currency_id="USD",
        deadline=date(2026, 9, 30),
    )
    bread = NeedFactory(
        sector_id="food_security", province_id="AF32", district_id="AF3201", currency_id="USD"
    )
    elsewhere = NeedFactory(sector_id="education", currency_id="USD")  # Kabul

    created = donor_client.post(
        "/api/v1/pledge-schedules/",
        {
            "amount": "25.00",
            "currency": "USD",
            "interval": "monthly",
            "day_of_month": 1,
            "start_date": "2026-02-01",
            "occurrences_limit": 3,
            "earmark_sectors": ["education"],
            "earmark_provinces": ["AF32"],
            "auto_commit": True,
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="monthly-herat",
    )
    assert created.status_code == 201, created.content
    schedule_id = created.json()["id"]

    for month in ("02", "03", "04", "05"):  # May: the limit is reached, nothing more is made
        clock(f"2026-{month}-01T06:00:00+00:00")  # 10:30 in Kabul
        make_due_scheduled_pledges.delay().get()
        run_matching.delay(trigger="manual").get()

    made = Pledge.objects.filter(schedule_id=schedule_id).order_by("schedule_period")
    assert [str(p.schedule_period) for p in made] == ["2026-02-01", "2026-03-01", "2026-04-01"]
    committed = Allocation.objects.filter(pledge__in=made, status="committed")
    assert sorted((a.need_id, a.amount) for a in committed) == [(classes.pk, Decimal("25.00"))] * 3
    assert not Allocation.objects.filter(need__in=[bread, elsewhere]).exists()
    assert donor_client.get(f"/api/v1/pledge-schedules/{schedule_id}").json()["status"] == (
        "completed"
    )

    clock("2026-12-31T12:00:00+00:00")
    donor_client = client_for(donor)  # signed in again: the January token has expired
    response = donor_client.get(STATEMENT, {"year": 2026})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["totals"] == [
        {
            "currency": "USD",
            "pledged": "75.00",
            "committed": "75.00",
            "disbursed": "0.00",
            "refunded": "0.00",
        }
    ]
    assert sorted((p["schedule"], p["schedule_period"]) for p in body["pledges"]) == [
        (schedule_id, "2026-02-01"),
        (schedule_id, "2026-03-01"),
        (schedule_id, "2026-04-01"),
    ]
    commitments = [line for line in body["lines"] if line["kind"] == "commitment"]
    assert {line["organization"] for line in commitments} == {"Herat Girls' Learning Circles"}
    # The ledger agrees: nothing left on the three pledge accounts, all of it committed.
    accounts = [account_key(AccountKind.DONOR_PLEDGE, "USD", p.pk) for p in made]
    assert sum(balances(*accounts).values()) == Decimal("0")

    pdf = donor_client.get(STATEMENT, {"year": 2026, "format": "pdf"})
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "USD 75.00 75.00 0.00 0.00" in text  # the totals row
    assert text.count("Teachers' pay, spring term") == 3  # one commitment a month
