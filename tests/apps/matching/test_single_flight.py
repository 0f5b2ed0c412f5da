"""One full run at a time, whichever server connection each statement lands on: behind a
transaction-pooling PgBouncer (scripts/test-pgbouncer) consecutive statements of one Django
connection may run in different server sessions, so the matching lock must be no session's."""

import threading

import psycopg2
import pytest
from django.db import connections

from apps.matching.services.runs import MatchingBusy, single_flight
from tests.integration.conftest import _test_database_url


def runs_elsewhere() -> bool:
    """Whether a run in another thread (its own connection) gets the lock now."""
    got: list[bool] = []

    def run() -> None:
        try:
            with single_flight(wait=False):
                got.append(True)
        except MatchingBusy:
            got.append(False)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return got[0]


@pytest.mark.django_db(transaction=True)
def test_a_run_leaves_the_matching_lock_free_when_another_session_holds_the_connection_it_used():
    other = psycopg2.connect(_test_database_url())  # another client, in a transaction
    try:
        with single_flight(wait=False):
            assert not runs_elsewhere()  # held: a second run is refused
            # Behind a pooler this transaction takes the server connection the run's last
            # statement used (the most recently freed one), and keeps it.
            with other.cursor() as cursor:
                cursor.execute("SELECT 1")
        # the run is over: the next one runs, wherever its statements land
        assert runs_elsewhere()
        with single_flight(wait=False):
            pass
    finally:
        other.close()
    assert runs_elsewhere()
