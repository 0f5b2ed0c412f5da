"""Fixtures shared by the whole suite: API clients for each kind of caller."""

import pytest
from rest_framework.test import APIClient

from aidmatch.access import MemberRole, PlatformRole
from apps.accounts import services as account_services
from tests.factories import ApiKeyFactory, MembershipFactory, OrganizationFactory, UserFactory


def client_for(user=None, *, api_key: str | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        _, token = account_services.token_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        client.user = user
    elif api_key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    return client


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The audit trail refuses TRUNCATE (apps/audit/migrations/0002) except where the database
    allows it: allow it on the throwaway test database, whose flush truncates every table."""
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            name = connection.ops.quote_name(connection.settings_dict["NAME"])
            with connection.cursor() as cursor:
                cursor.execute(f"ALTER DATABASE {name} SET aidmatch.audit_allow_truncate = on")
                cursor.execute("SET aidmatch.audit_allow_truncate = on")


@pytest.fixture
def anon():
    return APIClient()


@pytest.fixture
def donor(db):
    return UserFactory(full_name="Dana Donor")


@pytest.fixture
def donor_client(donor):
    return client_for(donor)


@pytest.fixture
def verifier(db):
    return UserFactory(platform_role=PlatformRole.VERIFIER)


@pytest.fixture
def verifier_client(verifier):
    return client_for(verifier)


@pytest.fixture
def org_x(db):
    return OrganizationFactory(name="Kandahar Food Program")


@pytest.fixture
def org_y(db):
    return OrganizationFactory(name="Balkh Schools Network", kind="school_network")


@pytest.fixture
def admin_x(org_x):
    return MembershipFactory(organization=org_x, role=MemberRole.ADMIN).user


@pytest.fixture
def staff_x(org_x):
    return MembershipFactory(organization=org_x, role=MemberRole.STAFF).user


@pytest.fixture
def admin_y(org_y):
    return MembershipFactory(organization=org_y, role=MemberRole.ADMIN).user


@pytest.fixture
def api_key_x(org_x):
    _, key = ApiKeyFactory.create(organization=org_x, scopes=["organization:read", "needs:read"])
    return key


def pytest_collection_modifyitems(items):
    """Transactional tests flush the database afterwards, which would take the reference data
    loaded by migrations with it: give them a serialized rollback, which restores it."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if (
            marker
            and marker.kwargs.get("transaction")
            and not marker.kwargs.get("serialized_rollback")
        ):
            kwargs = {**marker.kwargs, "serialized_rollback": True}
            item.add_marker(pytest.mark.django_db(*marker.args, **kwargs), append=False)


# --- Ledger (apps/ledger) ------------------------------------------------------------------------
# Every test that used the database ends with a ledger that reconciles: its own data (rolled back
# afterwards, so a check at the end of the session would see nothing) must balance, and every
# cached total must equal the ledger's sums and the allocation rows. A test that breaks the
# ledger on purpose says so with @pytest.mark.ledger_unreconciled.


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "ledger_unreconciled: the test breaks the ledger on purpose; do not reconcile"
    )


@pytest.fixture(autouse=True)
def _ledger_reconciles_after_the_test(request):
    uses_db = request.node.get_closest_marker("django_db") or "_django_db_helper" in (
        request.fixturenames
    )
    if not uses_db or request.node.get_closest_marker("ledger_unreconciled"):
        yield
        return
    # Set the database up before this fixture, so it is torn down (rolled back) after the check.
    request.getfixturevalue("_django_db_helper")
    yield
    from django.db import connection

    from apps.ledger.reconcile import reconcile

    if connection.needs_rollback or _transaction_aborted(connection):
        return  # the test ended inside a failed transaction: nothing can be read
    report = reconcile()
    assert report.ok, report.render()


def _transaction_aborted(connection) -> bool:
    raw = connection.connection
    status = getattr(getattr(raw, "info", None), "transaction_status", None)
    return status == 3  # psycopg's TRANSACTION_STATUS_INERROR


@pytest.fixture(scope="session", autouse=True)
def _ledger_reconciles_at_the_end_of_the_suite(request):
    """And the whole suite ends with ``manage.py reconcile`` passing on the test database (what
    transactional tests and worker processes left behind included)."""
    uses_db = any(
        item.get_closest_marker("django_db") or "_django_db_helper" in item.fixturenames
        for item in request.session.items
    )
    if not uses_db:
        yield
        return
    request.getfixturevalue("django_db_setup")
    blocker = request.getfixturevalue("django_db_blocker")
    yield
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = io.StringIO()
    with blocker.unblock():
        try:
            call_command("reconcile", stdout=out, stderr=io.StringIO())
        except CommandError as exc:
            pytest.fail(f"manage.py reconcile at the end of the suite: {exc}\n{out.getvalue()}")


# --- A fixed clock --------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """Set the time every ``timezone.now()`` sees (services, models' auto_now, tokens):
    ``clock("2026-11-25T20:00:00+00:00")``; returns the moment. PostgreSQL's own now() is not
    moved, so code under test reads the time from Django."""
    from datetime import datetime

    from django.utils import timezone

    def set_to(iso: str) -> datetime:
        moment = datetime.fromisoformat(iso)
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return set_to


@pytest.fixture
def broker():
    """The broker of the tests that send tasks to a worker outside tests/integration: this run's
    Redis. tests/integration overrides it to run each worker test on Redis and on RabbitMQ."""
    from django.conf import settings

    from tests.integration.brokers import Broker

    return Broker("redis", settings.CELERY_BROKER_URL)
