"""Idempotency-Key: replays, conflicts and concurrent twins, on real PostgreSQL."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from django.db import connection
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apps.core.actors import caller_key
from apps.core.idempotency import purge_expired
from apps.core.models import IdempotencyRecord
from apps.core.throttling import CallerRateThrottle
from apps.needs.models import Need
from apps.organizations.authentication import ApiKeyAuthentication
from apps.organizations.models import Organization
from tests.conftest import client_for
from tests.factories import (
    ApiKeyFactory,
    NeedFactory,
    OrganizationFactory,
    UserFactory,
)

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


# --- With an API key (the owner is "key:<prefix>": short, and nothing derived from the secret) --

NEED = {
    "title": "School kits for 60 girls, Herat",
    "sector": "education",
    "province": "AF32",
    "currency": "USD",
    "urgency": 4,
    "deadline": (date.today() + timedelta(days=60)).isoformat(),
    "line_items": [{"description": "School kit", "unit_cost": "25.00", "quantity": 60}],
}


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_twins_with_one_api_key_create_one_need():
    organization = OrganizationFactory()
    api_key, text = ApiKeyFactory.create(organization=organization, scopes=["needs:write"])
    key = str(uuid.uuid4())
    clients = [client_for(api_key=text) for _ in range(20)]

    def post(client):
        try:
            response = client.post("/api/v1/needs/", NEED, format="json", HTTP_IDEMPOTENCY_KEY=key)
            return (
                response.status_code,
                response.json().get("id"),
                "Idempotent-Replayed" in response,
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(post, clients))

    assert [status for status, _, _ in results] == [201] * 20, results
    assert len({need_id for _, need_id, _ in results}) == 1
    assert sum(1 for _, _, was_replayed in results if was_replayed) == 19
    assert Need.objects.filter(organization=organization).count() == 1
    record = IdempotencyRecord.objects.get()
    assert record.owner == f"key:{api_key.prefix}"
    assert api_key.hashed_key not in record.owner


@pytest.mark.django_db
def test_another_tenants_objects_stay_404_with_an_api_key_and_an_idempotency_key(org_x, org_y):
    _, text = ApiKeyFactory.create(
        organization=org_x, scopes=["reports:write", "disbursements:write"]
    )
    partner = client_for(api_key=text)
    theirs = NeedFactory(organization=org_y)

    report = partner.post(
        "/api/v1/reports/",
        {"need": str(theirs.pk), "period_start": "2026-10-01", "period_end": "2026-10-31"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    tranche = partner.post(
        f"/api/v1/disbursements/{uuid.uuid4()}/mark-failed",
        {"reason": "Never arrived"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )

    assert report.status_code == 404, report.content
    assert tranche.status_code == 404, tranche.content
    assert report["Content-Type"] == tranche["Content-Type"] == "application/problem+json"
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_caller_keys_hold_nothing_derived_from_a_secret(org_x):
    """The owner of idempotency records, and the name of throttle counters in Redis."""
    api_key, text = ApiKeyFactory.create(organization=org_x, scopes=["needs:read"])
    request = Request(
        APIRequestFactory().get("/api/v1/needs/", HTTP_AUTHORIZATION=f"Api-Key {text}"),
        authenticators=[ApiKeyAuthentication()],
    )
    assert request.user.is_authenticated

    names = [caller_key(request), CallerRateThrottle().get_cache_key(request, None)]

    assert names[0] == f"key:{api_key.prefix}"
    digest = api_key.hashed_key.split("$")[-1]
    for name in names:
        assert text.partition(".")[2] not in name
        assert digest[:12] not in name
        assert len(name) <= 80
