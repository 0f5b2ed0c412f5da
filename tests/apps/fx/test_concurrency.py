"""Concurrent twins on real PostgreSQL: one snapshot, never two, and exact load counts."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from aidmatch.access import PlatformRole
from apps.fx.models import ExchangeRate
from apps.fx.services import SAMPLE_RATES, exchange_rates_load_file
from tests.conftest import client_for
from tests.factories import UserFactory

URL = "/api/v1/exchange-rates/"
BODY = {"base": "USD", "quote": "AFN", "rate": "70.85", "date": "2026-02-01", "source": "UN"}
TWINS = 8


def _in_thread(work):
    def run(arg):
        try:
            return work(arg)
        finally:
            connection.close()

    return run


@pytest.mark.django_db(transaction=True)
def test_concurrent_twins_record_one_snapshot():
    verifier = UserFactory(platform_role=PlatformRole.VERIFIER)
    clients = [client_for(verifier) for _ in range(2 * TWINS)]

    def post(i):
        # half with one shared Idempotency-Key (replayed), half without (a 409 for the losers)
        headers = {"HTTP_IDEMPOTENCY_KEY": "same-rate"} if i % 2 else {}
        return clients[i].post(URL, BODY, format="json", **headers).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = Counter(pool.map(_in_thread(post), range(2 * TWINS)))
    assert ExchangeRate.objects.count() == 1
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] >= 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_loads_of_one_file_create_each_snapshot_once():
    def load(_):
        return exchange_rates_load_file(path=SAMPLE_RATES)

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(_in_thread(load), range(3)))
    rows = ExchangeRate.objects.count()
    assert sorted(r.created for r in results) == [0, 0, rows]
    assert all(r.created + r.unchanged == rows for r in results)
