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
