"""The match-runs endpoint (verifiers) and allocations with their explanation."""

from decimal import Decimal

import pytest

from apps.matching.models import Allocation, MatchRun
from tests.conftest import client_for
from tests.factories import ApiKeyFactory, NeedFactory, PledgeFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("caller", "listed", "started"),
    [("anon", 401, 401), ("donor", 403, 403), ("staff_x", 403, 403), ("verifier", 200, 202)],
)
def test_only_verifiers_see_and_start_matching_runs(
    request, caller, listed, started, django_capture_on_commit_callbacks
):
    client = (
        client_for(request.getfixturevalue(caller))
        if caller != "anon"
        else request.getfixturevalue("anon")
    )
    PledgeFactory(amount=Decimal("50.00"))
    NeedFactory()

    assert client.get("/api/v1/match-runs/").status_code == listed
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/match-runs/", {"reason": "new rates"}, format="json")

    assert response.status_code == started
    if started == 202:
        run = MatchRun.objects.get(pk=response.json()["id"])
        assert (run.trigger, run.status, run.created) == ("manual", "succeeded", 1)
        assert run.requested_by.pk == client.user.pk
        body = client.get(f"/api/v1/match-runs/{run.pk}/").json()
        assert body["solver_version"] and body["created"] == 1
    else:
        assert not MatchRun.objects.exists() and not Allocation.objects.exists()


def test_an_api_key_cannot_start_a_run(org_x):
    _, key = ApiKeyFactory.create(organization=org_x, scopes=["allocations:read"])
    response = client_for(api_key=key).post("/api/v1/match-runs/", {}, format="json")
    assert response.status_code == 403
    assert not MatchRun.objects.exists()


@pytest.mark.parametrize(
    "body", [{"mode": "bogus"}, {"reason": "x" * 201}, {"unknown": 1}, [1, 2], "<script>"]
)
def test_bad_requests_to_start_a_run_are_refused_and_start_nothing(verifier_client, body):
    response = verifier_client.post("/api/v1/match-runs/", body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert not MatchRun.objects.exists()


def test_the_donor_sees_the_proposal_with_its_explanation_and_commits_it(
    donor, donor_client, verifier_client, django_capture_on_commit_callbacks
):
    pledge = PledgeFactory(donor=donor, amount=Decimal("120.00"))
    need = NeedFactory(urgency=5)
    with django_capture_on_commit_callbacks(execute=True):
        verifier_client.post("/api/v1/match-runs/", {}, format="json")

    listed = donor_client.get(f"/api/v1/allocations/?pledge={pledge.pk}").json()["results"]
    assert len(listed) == 1
    assert listed[0]["need"] == str(need.pk) and listed[0]["amount"] == "120.00"
    assert listed[0]["explanation"]["urgency"] == 5
    assert listed[0]["explanation"]["admitted_by"] == "unrestricted"
    response = donor_client.post(f"/api/v1/allocations/{listed[0]['id']}/commit")
    assert response.status_code == 200 and response.json()["status"] == "committed"


def test_a_pledge_made_through_the_api_is_matched_after_its_commit(
    settings, donor_client, django_capture_on_commit_callbacks
):
    settings.MATCHING_TRIGGER_ON_CHANGE = True
    need = NeedFactory(sector_id="education", province_id="AF32", district_id=None)
    with django_capture_on_commit_callbacks(execute=True):
        response = donor_client.post(
            "/api/v1/pledges/",
            {"amount": "75.00", "currency": "USD", "earmark_provinces": ["AF32"]},
            format="json",
        )
    assert response.status_code == 201
    allocation = Allocation.objects.get(pledge_id=response.json()["id"])
    assert (allocation.need_id, allocation.amount) == (need.pk, Decimal("75.00"))
    assert MatchRun.objects.get().trigger == "event"
