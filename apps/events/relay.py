"""The relay: gives committed events their positions and fans them out.

Each worker runs it every EVENTS_RELAY_SECONDS (the housekeeping thread, ``config.celery_app``)
and beat's ``relay-events`` does too, so events go out without the broker being reachable from
the request that wrote them; a relay that finds another one at work returns at once (the
``EventStream`` row is locked with SKIP LOCKED). Positions follow insertion order among the
events visible now; an event that commits later gets a later position, never a gap-filling one.

A matching run writes its proposals' events as batches: one outbox row per 500 proposals,
holding their values (``pending``, ``apps.events.payloads.proposal_batches``). The relay
replaces such a row by one event per proposal, in its place among the others, rendered and
routed as it positions them (``apps.events.payloads.render_pending``), so a run's write
transaction, and the row locks it holds, does not wait on making, rendering, encrypting and
indexing one event per proposal.
"""

import logging

from django.db import connection, transaction
from django.utils import timezone

from apps.core.fields import _encrypt
from apps.events.models import Event, EventStream
from apps.events.payloads import is_batch, render_pending
from apps.events.signals import events_published
from apps.matching.services.bulk import array_literal

log = logging.getLogger(__name__)

BATCH = 500


def _set_positions(events: list[Event], now) -> None:
    """One UPDATE for the batch's stored events (PostgreSQL: the ids and positions as arrays,
    not a CASE per row as Django's bulk_update writes it, which costs seconds at a few thousand
    rows), with the payloads ``render_pending`` gave, encrypted (the other rows keep theirs)."""
    if not events:
        return
    if connection.vendor != "postgresql":
        Event.objects.bulk_update(events, ["position", "published_at", "payloads", "pending"])
        return
    rendered = [getattr(e, "_payloads_text", None) for e in events]
    table = connection.ops.quote_name(Event._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS e SET position = v.position, published_at = %s, "  # noqa: S608
            "payloads = COALESCE(v.payloads, e.payloads), pending = NULL "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) AS v(id, position, payloads) "
            "WHERE e.id = v.id",
            [
                now,
                [e.pk for e in events],
                [e.position for e in events],
                [None if text is None else _encrypt(text) for text in rendered],
            ],
        )


_NEW = (
    ("uid", "uuid"),
    ("type", "text"),
    ("resource_type", "text"),
    ("resource_id", "text"),
    ("organization_id", "uuid"),
    ("donor_id", "uuid"),
    ("donor_organization_id", "uuid"),
    ("occurred_at", "timestamptz"),
    ("audiences", "text"),
    ("position", "bigint"),
    ("payloads", "text"),
)


def _insert_positioned(events: list[Event], now) -> None:
    """Write the events a batch of proposals stood for, positioned and rendered, in one
    INSERT (PostgreSQL: each column as one array); their ids are set on them."""
    if not events:
        return
    for event in events:
        event.published_at = now
    if connection.vendor != "postgresql":
        Event.objects.bulk_create(events)
        return
    table = connection.ops.quote_name(Event._meta.db_table)
    names = ", ".join(name for name, _ in _NEW)
    arrays = ", ".join(f"%s::{kind}[]" for _, kind in _NEW)
    columns = [[getattr(e, name) for e in events] for name, _ in _NEW[:-1]]
    columns.append([_encrypt(e._payloads_text) for e in events])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}, published_at) "  # noqa: S608
            f"SELECT *, %s FROM unnest({arrays}) RETURNING position, id",
            [now, *[array_literal(c, kind) for c, (_, kind) in zip(columns, _NEW, strict=True)]],
        )
        ids = dict(cursor.fetchall())
    for event in events:
        event.pk = ids[event.position]
        event._state.adding = False


def _delete(batches: list[Event]) -> None:
    """Delete the outbox rows that stood for a run's proposals (now events of their own)."""
    if batches:
        Event.objects.filter(pk__in=[b.pk for b in batches]).delete()


def relay_batch(batch: int = BATCH) -> int | None:
    """Position and fan out about ``batch`` waiting events (a batch of a run's proposals is
    taken whole); how many, or None when another relay holds the stream."""
    with transaction.atomic():
        EventStream.objects.get_or_create(pk=1)
        stream = (
            EventStream.objects.select_for_update(no_key=True, skip_locked=True)
            .filter(pk=1)
            .first()
        )
        if stream is None:
            return None
        # The ids first (a batch of a run's proposals is a large value: only those taken are
        # read), up to ``batch`` events, a batch of proposals whole.
        waiting = Event.objects.filter(position__isnull=True).order_by("id")
        taken, count = [], 0
        for pk, size in waiting.values_list("id", "batch_size")[:batch]:
            taken.append(pk)
            count += size
            if count >= batch:
                break
        if not taken:
            return 0
        rows = list(Event.objects.filter(pk__in=taken).order_by("id"))
        batches = [row for row in rows if is_batch(row)]
        events = rows
        if any(row.pending is not None for row in rows):
            # a matching run's proposals: made, rendered and routed now, off its transaction
            events = render_pending(rows)
        now = timezone.now()
        for offset, event in enumerate(events, start=1):
            event.position = stream.last_position + offset
            event.published_at = now
        _delete(batches)
        _set_positions([e for e in events if e.pk is not None], now)
        _insert_positioned([e for e in events if e.pk is None], now)
        stream.last_position = events[-1].position
        stream.relayed_at = now
        stream.save(update_fields=["last_position", "relayed_at"])
        events_published.send(sender=Event, events=events)
        return len(events)


def relay_pending(max_batches: int = 100) -> int:
    """Relay until nothing waits (or another relay is at work); the number of events."""
    total = 0
    for _ in range(max_batches):
        done = relay_batch()
        if not done:
            break
        total += done
    if total:
        log.info("relayed %d events", total)
    return total
