"""The audit trail on PostgreSQL: written with the change (or not at all), chained, and
append-only in the database."""

import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, connections, transaction

from apps.audit.context import SYSTEM
from apps.audit.models import AuditEvent
from apps.audit.services import audit_record, audit_record_many, audit_snapshot
from apps.audit.verify import verify_chain
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def test_an_event_outside_a_request_is_the_system_s():
    org = OrganizationFactory()

    event = audit_record(
        action="organization.touch", obj=org, after=audit_snapshot(org, fields=["status"])
    )

    event.refresh_from_db()
    assert event.actor == SYSTEM
    assert (event.object_type, event.object_id) == ("organization", str(org.pk))
    assert event.after == {"status": "verified"}
    assert verify_chain().ok


def test_snapshots_and_events_never_hold_confidential_values():
    org = OrganizationFactory(contact_email="secret-contact@example.org")

    snapshot = audit_snapshot(org)
    event = audit_record(
        action="organization.touch",
        obj=org,
        after={**snapshot, "contact_email": org.contact_email, "principals": org.principals},
    )

    assert "contact_email" not in snapshot and "principals" not in snapshot
    assert "name" in snapshot
    event.refresh_from_db()
    assert "contact_email" not in event.after and "principals" not in event.after


def test_many_events_are_written_in_order_each_as_given():
    """One statement writes them (a column at a time): each row holds what its event held,
    with its own id, in chain order, and the chain verifies."""
    org = OrganizationFactory()
    entries = [
        {"action": "organization.touch", "obj": org, "before": None, "after": {"n": 1}},
        {"action": "confidential.read", "obj": org, "detail": {"fields": ["location"]}},
        {
            "action": "organization.rename",
            "obj": org,
            "before": {"name": "مکتب دختران"},
            "after": {"name": 'it\'s "quoted", {braced}, back\\slash'},
        },
    ]

    events = audit_record_many(entries)

    assert [e.pk for e in events] == sorted(e.pk for e in events)
    stored = {e.pk: e for e in AuditEvent.objects.filter(pk__in=[e.pk for e in events])}
    for event in events:
        row = stored[event.pk]
        assert row.hashed_fields() == event.hashed_fields()
        assert (row.prev_hash, row.hash) == (event.prev_hash, event.hash)
    assert [stored[e.pk].before for e in events] == [None, None, {"name": "مکتب دختران"}]
    assert stored[events[2].pk].after == {"name": 'it\'s "quoted", {braced}, back\\slash'}
    assert stored[events[1].pk].detail == {"fields": ["location"]}
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash
    assert verify_chain().ok


def test_an_event_rolls_back_with_its_transaction():
    org = OrganizationFactory()
    before = AuditEvent.objects.count()

    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(action="organization.touch", obj=org)
        raise RuntimeError("the change failed")

    assert AuditEvent.objects.count() == before


def test_the_database_refuses_update_delete_and_truncate():
    event = audit_record(action="system.test", object_type="thing", object_id="1")

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="system.other")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL aidmatch.audit_allow_truncate = off")
        cursor.execute("TRUNCATE audit_auditevent")

    assert AuditEvent.objects.filter(pk=event.pk, action="system.test").exists()


def _tamper(sql, params):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")


def test_audit_verify_passes_on_an_intact_chain(capsys):
    for i in range(5):
        audit_record(action="system.test", object_type="thing", object_id=str(i))

    call_command("audit_verify")

    assert "intact" in capsys.readouterr().out


def test_audit_verify_names_the_first_altered_event():
    events = [
        audit_record(action="system.test", object_type="thing", object_id=str(i), after={"n": i})
        for i in range(5)
    ]
    _tamper("UPDATE audit_auditevent SET after = %s WHERE id = %s", ['{"n": 99}', events[2].pk])

    with pytest.raises(CommandError, match=f"audit event {events[2].pk}: .*altered"):
        call_command("audit_verify")


def test_audit_verify_detects_a_removed_event():
    events = [
        audit_record(action="system.test", object_type="thing", object_id=str(i)) for i in range(4)
    ]
    _tamper("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])

    with pytest.raises(CommandError, match=f"audit event {events[2].pk}: .*removed"):
        call_command("audit_verify")


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_linear_chain():
    """Writers on their own connections, each appending in its own transactions at once."""
    writers, each = 8, 10
    start = threading.Barrier(writers)
    errors = []

    def write(n):
        try:
            start.wait()
            for i in range(each):
                with transaction.atomic():
                    audit_record(action="system.test", object_type="writer", object_id=f"{n}-{i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    rows = list(AuditEvent.objects.filter(object_type="writer").order_by("id"))
    assert len(rows) == writers * each
    assert len({r.prev_hash for r in AuditEvent.objects.all()}) == AuditEvent.objects.count()
    report = verify_chain()
    assert report.ok, report.broken
    assert report.checked == AuditEvent.objects.count()
