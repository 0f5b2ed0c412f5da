"""/api/v1/pledge-schedules/: create, list (filters, CSV), read, change, pause, resume, cancel;
who may see and change one; bad input as problem+json."""

import threading
import uuid
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from apps.pledges import schedules
from apps.pledges.models import Pledge, PledgeSchedule
from tests.conftest import client_for
from tests.factories import ApiKeyFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

GIRLS_SCHOOLS = {
    "amount": "25.00",
    "currency": "USD",
    "interval": "monthly",
    "day_of_month": 31,
    "start_date": "2026-12-01",
    "earmark_sectors": ["education"],
    "earmark_provinces": ["AF06"],
    "anonymous": True,
}


@pytest.fixture
def now(clock):
    return clock("2026-11-30T08:00:00+00:00")


def test_a_donor_gives_monthly_to_girls_schools_in_a_province(now, donor_client):
    response = donor_client.post(
        "/api/v1/pledge-schedules/", GIRLS_SCHOOLS, format="json", HTTP_IDEMPOTENCY_KEY="a1"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "active"
    assert (body["amount"], body["currency"], body["day_of_month"]) == ("25.00", "USD", 31)
    assert (body["earmark_sectors"], body["earmark_provinces"]) == (["education"], ["AF06"])
    assert body["time_zone"] == "Asia/Kabul"
    assert body["next_due_at"] == "2026-12-30T19:30:00Z"  # 31 Dec, 00:00 in Kabul
    again = donor_client.post(
        "/api/v1/pledge-schedules/", GIRLS_SCHOOLS, format="json", HTTP_IDEMPOTENCY_KEY="a1"
    )
    assert again.json() == body and PledgeSchedule.objects.count() == 1

    listed = donor_client.get("/api/v1/pledge-schedules/?status=active&interval=monthly")
    assert [r["id"] for r in listed.json()["results"]] == [body["id"]]
    assert donor_client.get("/api/v1/pledge-schedules/?status=paused").json()["results"] == []
    csv = donor_client.get("/api/v1/pledge-schedules/?format=csv")
    text = b"".join(csv.streaming_content).decode()
    assert csv.status_code == 200 and body["id"] in text and "next_due_at" in text
    assert donor_client.get(f"/api/v1/pledge-schedules/{body['id']}").json() == body


def test_change_pause_resume_and_cancel_through_the_api(now, donor, donor_client):
    created = donor_client.post("/api/v1/pledge-schedules/", GIRLS_SCHOOLS, format="json").json()
    url = f"/api/v1/pledge-schedules/{created['id']}"

    changed = donor_client.patch(url, {"amount": "40.00", "end_date": "2027-06-30"}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["amount"] == "40.00" and changed.json()["amount_from"] == "2026-12-31"
    assert changed.json()["end_date"] == "2027-06-30"

    key = str(uuid.uuid4())
    paused = donor_client.post(f"{url}/pause", HTTP_IDEMPOTENCY_KEY=key)
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert paused.json()["next_due_at"] is None
    replay = donor_client.post(f"{url}/pause", HTTP_IDEMPOTENCY_KEY=key)
    assert replay["Idempotent-Replayed"] == "true"
    assert donor_client.post(f"{url}/resume").json()["status"] == "active"
    cancelled = donor_client.post(f"{url}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["stop_reason"] == "cancelled by the donor"
    conflict = donor_client.patch(url, {"amount": "10.00"}, format="json")
    assert conflict.status_code == 409
    assert conflict["Content-Type"] == "application/problem+json"


def test_a_donor_institution_gives_through_its_api_key(now):
    institution = OrganizationFactory(kind="donor_institution")
    _, key = ApiKeyFactory.create(
        organization=institution, scopes=["pledges:write", "pledges:read"]
    )
    client = client_for(api_key=key)
    response = client.post("/api/v1/pledge-schedules/", GIRLS_SCHOOLS, format="json")
    assert response.status_code == 201
    schedule = PledgeSchedule.objects.get(pk=response.json()["id"])
    assert (schedule.donor_id, schedule.donor_organization_id) == (None, institution.pk)
    assert client.post(f"/api/v1/pledge-schedules/{schedule.pk}/pause").status_code == 200
    _, reader = ApiKeyFactory.create(organization=institution, scopes=["pledges:read"])
    refused = client_for(api_key=reader).post(f"/api/v1/pledge-schedules/{schedule.pk}/resume")
    assert refused.status_code == 403


def test_others_see_nothing_and_verifiers_see_but_cannot_change(now, donor_client, verifier):
    created = donor_client.post("/api/v1/pledge-schedules/", GIRLS_SCHOOLS, format="json").json()
    url = f"/api/v1/pledge-schedules/{created['id']}"
    stranger = client_for(UserFactory())
    assert stranger.get(url).status_code == 404
    assert stranger.post(f"{url}/cancel").status_code == 404
    assert stranger.get("/api/v1/pledge-schedules/").json()["results"] == []
    verifier_client = client_for(verifier)
    assert verifier_client.get(url).status_code == 200
    assert verifier_client.post(f"{url}/cancel").status_code == 403
    assert client_for().get("/api/v1/pledge-schedules/").status_code == 401


@pytest.mark.parametrize(
    ("change", "field", "status"),
    [
        ({"day_of_month": 0}, "day_of_month", 400),
        ({"day_of_month": 32}, "day_of_month", 400),
        ({"interval": "weekly"}, "interval", 400),
        ({"amount": 25.5}, "amount", 400),
        ({"amount": "0"}, "amount", 400),
        ({"amount": "1.001"}, "amount", 400),
        ({"currency": "XXX"}, "currency", 400),
        ({"time_zone": "Mars/Olympus"}, "time_zone", 400),
        ({"end_date": "2027-01-01", "occurrences_limit": 3}, "end_date", 400),
        ({"end_date": "2026-01-01"}, "end_date", 400),
        ({"occurrences_limit": 0}, "occurrences_limit", 400),
        ({"auto_commit": "yes"}, "auto_commit", 400),
        ({"start_date": "2026-11-01"}, "start_date", 422),
        ({"surprise": 1}, "surprise", 400),
        ({"earmark_need": str(uuid.UUID(int=1))}, "earmark_need", 400),
    ],
)
def test_bad_input_is_a_problem_and_writes_nothing(now, donor_client, change, field, status):
    response = donor_client.post("/api/v1/pledge-schedules/", GIRLS_SCHOOLS | change, format="json")
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json().get("errors", {})
    assert not PledgeSchedule.objects.exists()


def test_bad_changes_are_refused(now, donor_client):
    created = donor_client.post("/api/v1/pledge-schedules/", GIRLS_SCHOOLS, format="json").json()
    url = f"/api/v1/pledge-schedules/{created['id']}"
    assert donor_client.patch(url, {}, format="json").status_code == 400
    assert donor_client.patch(url, {"amount": "-1"}, format="json").status_code == 400
    assert donor_client.patch(url, {"status": "active"}, format="json").status_code == 400
    past = donor_client.patch(url, {"end_date": "2026-01-01"}, format="json")
    assert past.status_code == 422 and "end_date" in past.json()["errors"]
    assert donor_client.get("/api/v1/pledge-schedules/?status=nonsense").status_code == 400


def test_an_unverified_earmarked_organization_is_refused(now, donor_client):
    pending = OrganizationFactory(status="pending")
    response = donor_client.post(
        "/api/v1/pledge-schedules/",
        GIRLS_SCHOOLS | {"earmark_organization": str(pending.pk)},
        format="json",
    )
    assert response.status_code in (400, 422)
    assert not PledgeSchedule.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_make_each_period_once(clock):
    clock("2026-01-01T00:00:00+00:00")
    from apps.reference.models import Currency

    donor = UserFactory()
    schedule = schedules.schedule_create(
        donor=donor,
        amount=Decimal("10.00"),
        currency=Currency.objects.get(code="USD"),
        interval="monthly",
        day_of_month=1,
        start_date=date(2026, 1, 1),
    )
    clock("2026-06-15T00:00:00+00:00")  # six periods due at once
    barrier = threading.Barrier(2)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(schedules.schedule_make_due(schedule_id=schedule.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(results) == [0, 6] or sum(results) == 6
    periods = list(
        Pledge.objects.filter(schedule=schedule).values_list("schedule_period", flat=True)
    )
    assert sorted(periods) == [date(2026, m, 1) for m in range(1, 7)]
