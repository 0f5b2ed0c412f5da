"""Concurrent pledges with one external_reference, through the API on real PostgreSQL: one is
created, every other answers 409 naming it (the unique constraint decides; never a 500)."""

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from apps.pledges.models import Pledge
from tests.conftest import client_for
from tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_concurrent_twins_with_one_reference_make_one_pledge():
    donor = UserFactory()
    clients = [client_for(donor) for _ in range(12)]

    def send(i_client):
        i, client = i_client
        headers = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())} if i % 2 else {}
        try:
            response = client.post(
                "/api/v1/pledges/",
                {"amount": "10.00", "currency": "USD", "external_reference": "RACE-1"},
                format="json",
                **headers,
            )
            return response.status_code, response.json()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(send, enumerate(clients)))

    assert Counter(status for status, _ in results) == {201: 1, 409: 11}, results
    (created,) = [body for status, body in results if status == 201]
    assert {body["existing_id"] for status, body in results if status == 409} == {created["id"]}
    assert list(Pledge.objects.values_list("pk", flat=True)) == [uuid.UUID(created["id"])]
