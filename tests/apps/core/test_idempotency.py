"""Idempotency-Key: replays, conflicts and concurrent twins, on real PostgreSQL."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection

from apps.core.idempotency import purge_expired
from apps.core.models import IdempotencyRecord
from apps.organizations.models import Organization
from tests.conftest import client_for
from tests.factories import UserFactory

BODY = {"name": "Bamyan Winter Relief", "kind": "ngo", "afghan_led": True}


@pytest.mark.django_db
def test_a_repeat_replays_the_first_response(donor_client):
    key = str(uuid.uuid4())

    first = donor_client.post(
        "/api/v1/organizations/", BODY, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    again = donor_client.post(
        "/api/v1/organizations/", BODY, format="json", HTTP_IDEMPOTENCY_KEY=key
    )

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Organization.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_a_422(donor_client):
    key = str(uuid.uuid4())
    donor_client.post("/api/v1/organizations/", BODY, format="json", HTTP_IDEMPOTENCY_KEY=key)

    other = donor_client.post(
        "/api/v1/organizations/",
        {**BODY, "name": "Another"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )

    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Organization.objects.count() == 1


@pytest.mark.django_db
def test_keys_are_scoped_to_the_caller(donor_client):
    key = str(uuid.uuid4())
    other_client = client_for(UserFactory())

    donor_client.post("/api/v1/organizations/", BODY, format="json", HTTP_IDEMPOTENCY_KEY=key)
    theirs = other_client.post(
        "/api/v1/organizations/", BODY, format="json", HTTP_IDEMPOTENCY_KEY=key
    )

    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert Organization.objects.count() == 2


@pytest.mark.django_db
def test_a_failed_request_stores_nothing_and_its_retry_runs_again(donor_client):
    key = str(uuid.uuid4())

    bad = donor_client.post(
        "/api/v1/organizations/", {**BODY, "kind": "?"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.exists()

    good = donor_client.post(
        "/api/v1/organizations/", BODY, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert good.status_code == 201


@pytest.mark.django_db
def test_a_malformed_key_is_a_400(donor_client):
    response = donor_client.post(
        "/api/v1/organizations/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="bad key\twith spaces"
    )

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert not Organization.objects.exists()


@pytest.mark.django_db
def test_records_are_kept_for_the_ttl_then_purged(donor_client, settings):
    key = str(uuid.uuid4())
    donor_client.post("/api/v1/organizations/", BODY, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert settings.IDEMPOTENCY_TTL >= timedelta(hours=24)

    assert purge_expired() == 0
    IdempotencyRecord.objects.update(
        created_at=IdempotencyRecord.objects.get().created_at
        - settings.IDEMPOTENCY_TTL
        - timedelta(minutes=1)
    )
    assert purge_expired() == 1


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_twins_produce_one_organization():
    user = UserFactory()
    key = str(uuid.uuid4())
    clients = [client_for(user) for _ in range(50)]

    def post(client):
        try:
            response = client.post(
                "/api/v1/organizations/", BODY, format="json", HTTP_IDEMPOTENCY_KEY=key
            )
            return (
                response.status_code,
                response.json().get("id"),
                "Idempotent-Replayed" in response,
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(post, clients))

    statuses = {status for status, _, _ in results}
    ids = {org_id for _, org_id, _ in results}
    replayed = sum(1 for _, _, was_replayed in results if was_replayed)
    assert statuses == {201}
    assert len(ids) == 1
    assert replayed == 49
    assert Organization.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
