"""A transaction PostgreSQL rolls back to break a deadlock runs again, once, whole; any other
database error, or a transaction inside another, is not retried. Real deadlocks, between this
test's connection and a second one."""

import threading
import time
import uuid
from datetime import timedelta

import psycopg2
import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from apps.audit.services import CHAIN_LOCK_KEY
from apps.core.metrics import TRANSACTION_RETRIES
from apps.core.models import IdempotencyRecord, Lease
from apps.core.transactions import DEADLOCK_DETECTED, atomic_retrying
from apps.pledges.models import Pledge
from tests.conftest import client_for
from tests.factories import NeedFactory, UserFactory
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _other_connection():
    """A second session that never detects the deadlock itself (its timeout is long), so the
    code under test is always the one PostgreSQL rolls back."""
    other = psycopg2.connect(**connection.get_connection_params())
    with other.cursor() as cursor:
        cursor.execute("SET deadlock_timeout = '30s'")
    return other


def _retries() -> float:
    return TRANSACTION_RETRIES.labels(code=DEADLOCK_DETECTED)._value.get()


def _waiting_backends() -> int:
    watcher = psycopg2.connect(**connection.get_connection_params())
    try:
        with watcher.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return cursor.fetchone()[0]
    finally:
        watcher.close()


@pytest.fixture
def leases():
    soon = timezone.now() + timedelta(hours=1)
    for name in ("a", "b"):
        Lease.objects.create(name=name, holder="test", acquired_at=soon, expires_at=soon)


def _touch(cursor, name: str) -> None:
    cursor.execute("UPDATE core_lease SET holder = holder WHERE name = %s", [name])


class Rival(threading.Thread):
    """Another session: holds lease b, then, once this test's connection waits for b, wants a.
    The opposite order: a deadlock that PostgreSQL breaks by rolling this test's side back."""

    def __init__(self) -> None:
        super().__init__()
        self.connection = _other_connection()
        self._holds_b, self._wanted = threading.Event(), threading.Event()

    def run(self) -> None:
        with self.connection.cursor() as cursor:
            _touch(cursor, "b")
            self._holds_b.set()
            assert self._wanted.wait(10)
            wait_for(lambda: _waiting_backends() == 1, timeout=10, step=0.02)  # mine, for b
            _touch(cursor, "a")  # the cycle closes
        self.connection.commit()

    def before_i_want_b(self) -> None:
        assert self._holds_b.wait(10)
        self._wanted.set()

    def finish(self) -> None:
        self.join(20)
        self.connection.close()


def test_a_deadlocked_transaction_runs_again_and_its_first_attempt_leaves_nothing(leases):
    rival = Rival()
    attempts: list[int] = []

    def work() -> str:
        attempts.append(1)
        Lease.objects.filter(name="a").update(holder=f"attempt {len(attempts)}")
        if len(attempts) == 1:
            rival.before_i_want_b()
        with connection.cursor() as cursor:
            _touch(cursor, "b")
        return "done"

    before = _retries()
    rival.start()
    try:
        assert atomic_retrying(work) == "done"
    finally:
        rival.finish()

    assert len(attempts) == 2
    assert _retries() == before + 1
    assert Lease.objects.get(name="a").holder == "attempt 2"


def test_another_database_error_is_raised_at_once(leases):
    other = _other_connection()
    attempts: list[int] = []

    def work() -> None:
        attempts.append(1)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '50ms'")
            _touch(cursor, "a")

    try:
        with other.cursor() as cursor:
            _touch(cursor, "a")
        with pytest.raises(OperationalError, match="lock timeout"):
            atomic_retrying(work)
    finally:
        other.close()
    assert len(attempts) == 1


def test_inside_another_transaction_the_owner_of_that_one_decides(leases):
    rival = Rival()
    attempts: list[int] = []

    def work() -> None:
        attempts.append(1)
        with connection.cursor() as cursor:
            _touch(cursor, "a")
            rival.before_i_want_b()
            _touch(cursor, "b")

    rival.start()
    try:
        with pytest.raises(OperationalError, match="deadlock detected"), transaction.atomic():
            atomic_retrying(work)
    finally:
        rival.finish()
    assert len(attempts) == 1


def test_a_pledge_post_rolled_back_by_a_deadlock_is_answered_once_with_one_pledge():
    """Another session holds the earmarked need FOR UPDATE (a plain lock, as a DBA's or an
    older release's would be) and then wants the audit chain, which the request holds while its
    COMMIT waits to check the earmark: a deadlock. The request runs again and answers 201."""
    need = NeedFactory(status="open")
    donor = UserFactory()
    key = str(uuid.uuid4())
    other = _other_connection()
    with other.cursor() as cursor:
        cursor.execute("SELECT id FROM needs_need WHERE id = %s FOR UPDATE", [str(need.pk)])
    answers = []

    def post() -> None:
        try:
            answers.append(
                client_for(donor).post(
                    "/api/v1/pledges/",
                    {"amount": "120.00", "currency": "USD", "earmark_need": str(need.pk)},
                    format="json",
                    HTTP_IDEMPOTENCY_KEY=key,
                )
            )
        finally:
            connection.close()

    before = _retries()
    thread = threading.Thread(target=post)
    thread.start()
    try:
        wait_for(
            lambda: _waiting_backends() == 1, timeout=10, step=0.02
        )  # the request's COMMIT waits for the need
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
            time.sleep(0.3)
        other.commit()
    finally:
        thread.join(30)
        other.close()

    assert [a.status_code for a in answers] == [201], answers[0].content if answers else None
    assert _retries() == before + 1
    assert list(Pledge.objects.filter(donor=donor).values_list("pk", flat=True)) == [
        uuid.UUID(answers[0].json()["id"])
    ]
    assert IdempotencyRecord.objects.filter(key=key).count() == 1


def test_a_database_that_gives_the_statement_up_is_a_503_problem_and_changes_nothing(
    org_x, staff_x
):
    need = NeedFactory(organization=org_x, status="draft", title="Before")
    other = _other_connection()
    with other.cursor() as cursor:  # holds the need, as a long transaction elsewhere would
        cursor.execute("SELECT id FROM needs_need WHERE id = %s FOR UPDATE", [str(need.pk)])
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '200ms'")
    try:
        response = client_for(staff_x).patch(
            f"/api/v1/needs/{need.pk}", {"title": "After"}, format="json"
        )
    finally:
        other.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "2"
    assert response.json()["code"] == "database_unavailable"
    need.refresh_from_db()
    assert need.title == "Before"
