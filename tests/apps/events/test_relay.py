"""The outbox: an event exists exactly when its change committed, and the relay positions each
committed event once, in insertion order."""

import pytest
from django.db import transaction

from aidmatch.events import Audience, EventType
from apps.events.models import Event, EventStream
from apps.events.relay import relay_pending
from apps.events.services import audience_for, envelope, record_event
from apps.events.signals import events_published

pytestmark = pytest.mark.django_db(transaction=True)


def _record(resource_id="r1", **kwargs):
    return record_event(
        EventType.PLEDGE_CREATED,
        resource_id=resource_id,
        payloads={Audience.DONOR: {"id": resource_id, "amount": "10.00"}},
        **kwargs,
    )


def test_an_event_rolled_back_with_its_change_never_exists():
    with pytest.raises(RuntimeError), transaction.atomic():
        _record()
        raise RuntimeError("the change failed")
    assert Event.objects.count() == 0


def test_the_relay_positions_each_committed_event_once_in_insertion_order():
    seen = []

    def receiver(sender, events, **kwargs):
        seen.extend(e.resource_id for e in events)

    events_published.connect(receiver)
    try:
        for n in range(3):
            _record(resource_id=f"r{n}")
        first = relay_pending()
        again = relay_pending()
    finally:
        events_published.disconnect(receiver)
    # Test settings run tasks eagerly, so each commit already relayed its own event.
    assert first + len(seen) >= 3
    assert again == 0
    positions = list(Event.objects.order_by("id").values_list("position", flat=True))
    assert positions == sorted(positions) and None not in positions
    assert len(set(positions)) == 3
    assert EventStream.objects.get().last_position == max(positions)


def test_the_envelope_carries_only_the_audiences_payload():
    event = _record()
    assert audience_for(event, user_id=None, organization_id=None) is None
    body = envelope(event, Audience.DONOR)
    assert body["id"] == event.public_id and body["type"] == "pledge.created"
    assert body["data"] == {"id": "r1", "amount": "10.00"}
    assert envelope(event, Audience.ORGANIZATION)["data"] == {}


def test_a_runs_batches_become_one_event_per_proposal_in_their_place(monkeypatch, settings):
    """A run writes its proposals in batches (2 per row here); the relay turns each into its
    proposals' events, positioned where the batch stood among the other events, a batch
    taken whole even where it passes the relay's batch size."""
    from decimal import Decimal

    from apps.events import payloads
    from apps.events.relay import relay_batch
    from apps.matching.models import Allocation
    from apps.matching.services.runs import match_run_execute
    from tests.factories import NeedFactory, PledgeFactory

    monkeypatch.setattr(payloads, "BATCH_ROWS", 2)
    settings.CELERY_TASK_ALWAYS_EAGER = False  # no relay at each commit: relayed below
    for _ in range(3):
        NeedFactory(amount=Decimal("100.00"))
    PledgeFactory(amount=Decimal("1000.00"))
    _record("before")
    run = match_run_execute(trigger="manual", mode="full")
    _record("after")
    assert run.created == 3

    relayed = []
    while done := relay_batch(batch=2):
        relayed.append(done)

    events = list(Event.objects.order_by("position"))
    assert [e.position for e in events] == list(range(1, len(events) + 1))
    assert sum(relayed) == len(events) and relayed[-2:] == [
        3,
        2,
    ]  # …, before + batch, batch + after
    shown = [e.resource_id for e in events]
    proposals = {str(pk) for pk in Allocation.objects.values_list("pk", flat=True)}
    at = shown.index("before")
    assert set(shown[at + 1 : at + 4]) == proposals and shown[at + 4 :] == ["after"]
    assert all(e.type == EventType.ALLOCATION_PROPOSED for e in events[at + 1 : at + 4])
    assert not Event.objects.filter(position__isnull=True).exists()
