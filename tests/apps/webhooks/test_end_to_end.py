"""A partner's whole path, through the API and a real worker: subscribe, change something
through the API, receive the signed event, and find the same event in the feed."""

import json
from pathlib import Path

import pytest

from tests.apps.webhooks.test_signature import README_SNIPPET, readme_verify
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.worker

README = (Path(__file__).resolve().parents[3] / "README.md").read_text()


def test_the_readme_carries_the_verification_snippet_the_tests_run():
    body = README_SNIPPET.strip().splitlines()
    assert all(line in README for line in body if line.strip())


def test_a_pledge_made_and_withdrawn_through_the_api_reaches_its_donors_endpoint_signed(
    start_worker, receiver, in_process
):
    start_worker()
    donor, other = UserFactory(), UserFactory()
    client, other_client = client_for(donor), client_for(other)
    created = client.post(
        "/api/v1/webhook-endpoints/",
        {
            "url": receiver.url,
            "description": "ERP sync",
            "event_types": ["pledge.created", "pledge.withdrawn"],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    other_endpoint = other_client.post(
        "/api/v1/webhook-endpoints/", {"url": receiver.url + "/other"}, format="json"
    )
    assert other_endpoint.status_code == 201

    pledge = client.post(
        "/api/v1/pledges/",
        {"amount": "100.00", "currency": "USD"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="e2e-pledge-1",
    )
    assert pledge.status_code == 201, pledge.content
    pledge_id = pledge.json()["id"]
    assert client.post(f"/api/v1/pledges/{pledge_id}/withdraw").status_code == 200

    wait_for(lambda: len(receiver.ids()) >= 2, timeout=45)
    verify = readme_verify()
    events = [verify(secret, r.body, r.headers) for r in receiver.requests if r.status == 200]
    assert None not in events  # every delivery is signed with the endpoint's secret
    assert [e["type"] for e in events] == ["pledge.created", "pledge.withdrawn"]
    assert {e["resource"]["id"] for e in events} == {pledge_id}
    assert events[0]["data"]["amount"] == "100.00" and events[0]["data"]["id"] == pledge_id
    assert events[1]["data"]["status"] == "withdrawn"
    assert all(r.path == "/hook" for r in receiver.requests)  # the other donor hears nothing

    feed = client.get("/api/v1/events/", {"resource_id": pledge_id}).json()["results"]
    assert [(item["id"], item["type"]) for item in feed] == [(e["id"], e["type"]) for e in events]
    assert other_client.get("/api/v1/events/").json()["results"] == []
    assert json.loads(receiver.requests[0].body)["id"] == receiver.requests[0].headers["webhook-id"]
