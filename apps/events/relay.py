"""The relay: gives committed events their positions and fans them out.

Each worker runs it every EVENTS_RELAY_SECONDS (the housekeeping thread, ``config.celery_app``)
and beat's ``relay-events`` does too, so events go out without the broker being reachable from
the request that wrote them; a relay that finds another one at work returns at once (the
``EventStream`` row is locked with SKIP LOCKED). Positions follow insertion order among the
events visible now; an event that commits later gets a later position, never a gap-filling one.

A matching run writes its proposals' events with their values and no payloads (``pending``):
the relay renders those payloads as it positions them (``apps.events.payloads.render_pending``),
so a run's write transaction, and the row locks it holds, does not wait on rendering and
encrypting one payload per proposal.
"""

import logging

from django.db import connection, transaction
from django.utils import timezone

from apps.core.fields import _encrypt
from apps.events.models import Event, EventStream
from apps.events.payloads import render_pending
from apps.events.signals import events_published

log = logging.getLogger(__name__)

BATCH = 500


def _set_positions(events: list[Event], now) -> None:
    """One UPDATE for the batch (PostgreSQL: the ids and positions as arrays, not a CASE per row
    as Django's bulk_update writes it, which costs seconds at a few thousand rows), with the
    payloads ``render_pending`` gave, encrypted (the other rows keep theirs)."""
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


def relay_batch(batch: int = BATCH) -> int | None:
    """Position and fan out at most ``batch`` waiting events; how many, or None when another
    relay holds the stream."""
    with transaction.atomic():
        EventStream.objects.get_or_create(pk=1)
        stream = (
            EventStream.objects.select_for_update(no_key=True, skip_locked=True)
            .filter(pk=1)
            .first()
        )
        if stream is None:
            return None
        events = list(Event.objects.filter(position__isnull=True).order_by("id")[:batch])
        if not events:
            return 0
        pending = [e for e in events if e.pending is not None]
        if pending:  # a matching run's proposals: rendered now, off the run's transaction
            render_pending(pending)
        now = timezone.now()
        for offset, event in enumerate(events, start=1):
            event.position = stream.last_position + offset
            event.published_at = now
        _set_positions(events, now)
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
