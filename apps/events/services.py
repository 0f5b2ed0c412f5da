"""Writing events into the outbox, and what one audience sees of one."""

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence

from django.conf import settings
from django.db import connection, transaction

from aidmatch.events import Audience, EventType, resource_of
from apps.core.fields import _encrypt
from apps.events.models import Event


def new_event(
    event_type: EventType | str,
    *,
    resource_id,
    payloads: Mapping[Audience | str, dict],
    organization_id=None,
    donor_id=None,
    donor_organization_id=None,
    occurred_at=None,
) -> Event:
    """An event not yet written (``record_event`` writes one, ``record_events`` many)."""
    payloads = {str(audience): data for audience, data in payloads.items() if data is not None}
    event = Event(
        type=str(event_type),
        resource_type=resource_of(str(event_type)),
        resource_id=str(resource_id),
        organization_id=organization_id,
        donor_id=donor_id,
        donor_organization_id=donor_organization_id,
        payloads=payloads,
        audiences=",".join(sorted(payloads)),
    )
    if occurred_at is not None:
        event.occurred_at = occurred_at
    return event


def _relay_after_commit() -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # No worker polls the outbox in the embedded mode: relay once the change commits.
        from apps.events.relay import relay_pending

        connection = transaction.get_connection()
        if not any(entry[1] is relay_pending for entry in connection.run_on_commit):
            transaction.on_commit(relay_pending)  # once per transaction


def record_event(
    event_type: EventType | str,
    *,
    resource_id,
    payloads: Mapping[Audience | str, dict],
    organization_id=None,
    donor_id=None,
    donor_organization_id=None,
    occurred_at=None,
    with_statements: Sequence[tuple[str, Sequence]] = (),
) -> Event:
    """Write one event in the current transaction (one INSERT). Call it after the change and
    under the resource's row lock, so one resource's events are inserted in commit order.

    Only the audiences given a payload receive the event. ``with_statements`` (PostgreSQL:
    plain INSERT/UPDATE/DELETE statements, each as SQL and parameters) run in the same round
    trip, as CTEs of the event's INSERT: a write path with one more statement to send folds it
    here instead of paying for one more round trip (elsewhere they run one by one)."""
    event = new_event(
        event_type,
        resource_id=resource_id,
        payloads=payloads,
        organization_id=organization_id,
        donor_id=donor_id,
        donor_organization_id=donor_organization_id,
        occurred_at=occurred_at,
    )
    if with_statements and connection.vendor == "postgresql":
        _insert_with(event, with_statements)
    else:
        for sql, params in with_statements:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
        event.save(force_insert=True)
    _relay_after_commit()
    return event


_INSERTED = (
    "uid",
    "type",
    "resource_type",
    "resource_id",
    "organization",
    "donor",
    "donor_organization",
    "occurred_at",
    "payloads",
    "audiences",
    "pending",
    "batch_size",
)


def event_row(
    event_type: EventType | str,
    *,
    resource_id,
    payloads_text: str | None,
    audiences,
    organization_id=None,
    donor_id=None,
    donor_organization_id=None,
    occurred_at,
    pending: str | None = None,
    batch_size: int = 1,
) -> tuple:
    """One event as a COPY row (``copy_events``), its payloads given as their JSON text (the
    form ``EventPayloadsField`` writes: keys sorted, a view shown again by its audience's
    name), encrypted here; or none, and the JSON text the relay renders them from
    (``pending``: ``apps.events.payloads.render_pending``)."""
    return (
        uuid.uuid4(),
        str(event_type),
        resource_of(str(event_type)),
        str(resource_id),
        organization_id,
        donor_id,
        donor_organization_id,
        occurred_at,
        None if payloads_text is None else _encrypt(payloads_text),
        ",".join(sorted(str(a) for a in audiences)),
        pending,
        batch_size,
    )


def copy_events(rows: Iterable[tuple], count: int) -> int:
    """Write ``count`` events given as ``event_row`` s in one COPY (PostgreSQL; elsewhere one
    bulk INSERT), rows made as the COPY reads them."""
    if not count:
        return 0
    from apps.matching.services.bulk import bulk_insert  # a plain helper, no cycle

    if connection.vendor != "postgresql":
        fields = [Event._meta.get_field(name) for name in _INSERTED]
        events = []
        for row in rows:
            event = Event(**{f.attname: v for f, v in zip(fields, row, strict=True)})
            if row[8] is not None:
                event.payloads = Event._meta.get_field("payloads").decrypt(row[8])
            else:
                event.payloads, event.pending = None, json.loads(row[10])
            events.append(event)
        Event.objects.bulk_create(events, batch_size=COPY_FROM)
    else:
        columns = {
            Event._meta.get_field(name).column: "jsonb" if name == "pending" else "text"
            for name in _INSERTED
        }
        bulk_insert(Event, columns, _Rows(rows, count))
    _relay_after_commit()
    return count


def _insert_with(event: Event, statements: Sequence[tuple[str, Sequence]]) -> None:
    fields = [Event._meta.get_field(name) for name in _INSERTED]
    values = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields]
    table = connection.ops.quote_name(Event._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    ctes = ", ".join(f"folded_{i} AS ({sql})" for i, (sql, _) in enumerate(statements))
    params = [p for _, statement_params in statements for p in statement_params]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {ctes} INSERT INTO {table} ({columns}) "  # noqa: S608
            f"VALUES ({marks}) RETURNING id",
            [*params, *values],
        )
        event.pk = cursor.fetchone()[0]
    event._state.adding = False


COPY_FROM = 1000  # fewer events go in one INSERT (ids returned), more in one COPY


def record_events(events: Iterable[Event]) -> int:
    """Write events (from ``new_event``) in the current transaction in one statement: one
    INSERT, or from COPY_FROM events on PostgreSQL one COPY, whatever their number; the
    number written. Each resource's events must be
    given in the order they happened."""
    events = list(events)
    if not events:
        return 0
    if len(events) == 1:
        events[0].save(force_insert=True)
    elif connection.vendor != "postgresql" or len(events) <= COPY_FROM:
        Event.objects.bulk_create(events, batch_size=COPY_FROM)
    else:
        from apps.matching.services.bulk import bulk_insert  # a plain helper, no cycle

        fields = [Event._meta.get_field(name) for name in _INSERTED]
        columns = {f.column: "text" for f in fields}
        rows = (
            tuple(f.get_db_prep_save(getattr(e, f.attname), connection) for f in fields)
            for e in events
        )
        bulk_insert(Event, columns, _Rows(rows, len(events)))
    _relay_after_commit()
    return len(events)


class _Rows:
    """A sized iterable, so a generator can go to ``bulk_insert`` without a list of tuples."""

    def __init__(self, rows, n):
        self._rows, self._n = rows, n

    def __iter__(self):
        return iter(self._rows)

    def __len__(self):
        return self._n

    def __bool__(self):
        return self._n > 0


def audience_for(
    event: Event, *, user_id=None, organization_id=None, verifier: bool = False
) -> Audience | None:
    """How a subscriber sees an event: a verifier user, an organization (its members and API
    keys), or a donor user; None when the event is not theirs (or has no payload for them)."""
    stored = set(event.audiences.split(",")) if event.audiences else set(event.payloads)
    found = None
    if verifier:
        found = Audience.VERIFIER
    elif organization_id is not None and organization_id == event.organization_id:
        found = Audience.ORGANIZATION
    elif (user_id is not None and user_id == event.donor_id) or (
        organization_id is not None and organization_id == event.donor_organization_id
    ):
        found = Audience.DONOR
    if found is None or str(found) not in stored:
        return None
    return found


def envelope(event: Event, audience: Audience | str) -> dict:
    """The JSON an audience receives (webhook body, feed item): the same id on every attempt."""
    return {
        "id": event.public_id,
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "position": event.position,
        "resource": {"type": event.resource_type, "id": event.resource_id},
        "data": event.payloads.get(str(audience), {}),
    }


MIN_RETENTION_DAYS = 30
PURGE_BATCH = 5000


def events_purge(*, days: int | None = None, now=None, batch: int = PURGE_BATCH) -> int:
    """Delete positioned events older than ``days`` (EVENTS_RETENTION_DAYS; never under 30),
    ``batch`` at a time, each batch its own transaction; how many were deleted. Events not
    yet positioned are kept whatever their age: they have not gone out."""
    from datetime import timedelta

    from django.utils import timezone

    days = settings.EVENTS_RETENTION_DAYS if days is None else days
    if days < MIN_RETENTION_DAYS:
        raise ValueError(f"Events are kept at least {MIN_RETENTION_DAYS} days, not {days}.")
    cutoff = (now or timezone.now()) - timedelta(days=days)
    old = Event.objects.filter(position__isnull=False, occurred_at__lt=cutoff)
    total = 0
    while True:
        with transaction.atomic():
            ids = list(old.order_by("id").values_list("id", flat=True)[:batch])
            if not ids:
                return total
            total += Event.objects.filter(id__in=ids).delete()[0]
