"""The incremental path with the real broker and a real worker: a new pledge costs the request
one message and no SQL, and the worker proposes it while a full run holds the matching lock."""

from decimal import Decimal

import psycopg2
import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.matching.models import Allocation, MatchRun
from apps.matching.services.runs import LOCK_KEY
from apps.matching.triggers import request_matching
from config.celery_app import app as celery_app
from tests.conftest import client_for
from tests.factories import NeedFactory, UserFactory
from tests.integration.conftest import _test_database_url, wait_for

pytestmark = pytest.mark.worker


@pytest.fixture
def matching_on(settings):
    settings.MATCHING_TRIGGER_ON_CHANGE = True


@pytest.mark.django_db
def test_a_new_pledge_costs_the_request_one_message_and_no_sql(
    broker_tasks, matching_on, django_capture_on_commit_callbacks
):
    queue = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    try:
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            request_matching(reason="pledge made", pledge_ids=["an-id"])
        assert [q["sql"] for q in queries.captured_queries] == []
        assert queue.llen(celery_app.conf.task_default_queue) == 1
        assert not MatchRun.objects.exists()  # the incremental run schedules the full run
    finally:
        celery_app.control.purge()


def test_the_worker_proposes_a_new_pledge_while_a_full_run_holds_the_lock(worker, matching_on):
    need = NeedFactory(amount=Decimal("800.00"), urgency=5)
    holder = psycopg2.connect(_test_database_url())
    try:
        with holder.cursor() as cursor:  # a full run in progress
            cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        response = client_for(UserFactory()).post(
            "/api/v1/pledges/", {"amount": "500.00", "currency": "USD"}, format="json"
        )
        assert response.status_code == 201, response.json()
        allocation = wait_for(
            lambda: Allocation.objects.filter(pledge_id=response.json()["id"]).first()
        )
        assert (allocation.need_id, allocation.amount) == (need.pk, Decimal("500.00"))
        run = MatchRun.objects.get(pk=allocation.match_run_id)
        assert (run.mode, run.status, run.created) == ("incremental", "succeeded", 1)
        # the full run it scheduled waits for the lock
        assert MatchRun.objects.filter(mode="full", status="queued").exists()
    finally:
        holder.close()
    wait_for(lambda: MatchRun.objects.filter(mode="full", status="succeeded").exists())
