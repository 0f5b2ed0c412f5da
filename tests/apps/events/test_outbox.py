"""The outbox under real commits: one resource's events keep their commit order under
concurrency, events written while the broker is unreachable are positioned all the same (the
relay reads only the database), and the feed keeps events at least 30 days."""

import os
import random
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from aidmatch.errors import RuleViolation
from aidmatch.events import Audience, EventType
from apps.events.models import Event
from apps.events.relay import relay_pending
from apps.events.services import events_purge, record_event
from apps.pledges import services as pledges
from config.celery_app import app as celery_app
from tests.factories import PledgeFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_concurrent_changes_keep_each_resources_commit_order():
    donor = UserFactory()
    pledge_ids = [PledgeFactory(donor=donor, amount=Decimal("1000.00")).pk for _ in range(5)]
    # Ten reductions per pledge, each to a different amount, started in a random order: those
    # that commit go lower each time, so a pledge's amounts in commit order strictly decrease.
    work = [(pk, Decimal(990 - 7 * k)) for pk in pledge_ids for k in range(10)]
    random.Random(10).shuffle(work)
    stop = threading.Event()

    def reduce(item):
        pledge_id, amount = item
        try:
            pledges.pledge_reduce(pledge_id=pledge_id, actor=donor, amount=amount)
            return True
        except RuleViolation:  # a lower amount committed first: nothing written
            return False
        finally:
            connection.close()

    def relay_meanwhile():
        while not stop.is_set():
            relay_pending()
        connection.close()

    relay = threading.Thread(target=relay_meanwhile)
    relay.start()
    try:
        with ThreadPoolExecutor(max_workers=10) as pool:
            done = sum(pool.map(reduce, work))
    finally:
        stop.set()
        relay.join()
    relay_pending()

    events = list(Event.objects.filter(type=EventType.PLEDGE_REDUCED).order_by("position"))
    assert len(events) == done >= len(pledge_ids)
    assert None not in [e.position for e in events]
    assert len({e.position for e in events}) == len(events)
    assert len({e.uid for e in events}) == len(events)
    for pk in pledge_ids:
        amounts = [
            Decimal(e.payloads["donor"]["amount"]) for e in events if e.resource_id == str(pk)
        ]
        assert amounts == sorted(amounts, reverse=True) and len(set(amounts)) == len(amounts)
        final = pledges.Pledge.objects.get(pk=pk).amount
        assert amounts[-1] == final


def test_events_committed_while_the_broker_is_unreachable_are_positioned(settings):
    """No eager relay and a broker nobody listens on: the change commits, its event waits in
    the outbox, and the relay (a worker's housekeeping thread, or beat's task) positions it
    reading only the database."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.MATCHING_TRIGGER_ON_CHANGE = False
    previous = celery_app.conf.broker_url
    celery_app.conf.broker_url = "redis://127.0.0.1:9/0"  # discard port: nothing there
    try:
        donor = UserFactory()
        pledge = PledgeFactory(donor=donor, amount=Decimal("100.00"))
        pledges.pledge_withdraw(pledge_id=pledge.pk, actor=donor)
        event = Event.objects.get(type=EventType.PLEDGE_WITHDRAWN, resource_id=str(pledge.pk))
        assert event.position is None  # committed, waiting

        assert relay_pending() >= 1
    finally:
        celery_app.conf.broker_url = previous
    event.refresh_from_db()
    assert event.position is not None and event.published_at is not None


def _old_event(days: int, *, positioned: bool = True) -> Event:
    with transaction.atomic():
        event = record_event(
            EventType.PLEDGE_CREATED,
            resource_id=f"old-{days}-{positioned}",
            payloads={Audience.DONOR: {"id": "x"}},
            occurred_at=timezone.now() - timedelta(days=days),
        )
    if positioned:
        relay_pending()
    else:
        Event.objects.filter(pk=event.pk).update(position=None, published_at=None)
    return event


def test_the_purge_deletes_positioned_events_past_the_retention_in_batches():
    kept = _old_event(29)
    gone = [_old_event(31), _old_event(45), _old_event(400)]
    waiting = _old_event(60, positioned=False)

    assert events_purge(batch=2) == len(gone)

    left = set(Event.objects.values_list("pk", flat=True))
    assert kept.pk in left and waiting.pk in left
    assert not left & {e.pk for e in gone}


def test_the_retention_is_never_under_30_days():
    with pytest.raises(ValueError, match="at least 30"):
        events_purge(days=29)
    env = {
        **os.environ,
        "EVENTS_RETENTION_DAYS": "7",
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0 and "EVENTS_RETENTION_DAYS" in result.stderr


def test_beat_purges_hourly():
    entry = settings.CELERY_BEAT_SCHEDULE["purge-old-events"]
    assert entry["task"] == "apps.events.tasks.purge_old_events"
    assert entry["schedule"] == timedelta(hours=1)
    assert settings.EVENTS_RETENTION_DAYS >= 30
