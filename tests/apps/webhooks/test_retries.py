"""Retry bookkeeping in one process (tasks run eagerly; the dispatcher is called by the test):
giving up after the schedule, one resource's events held behind an earlier one, an endpoint
disabled and its owners emailed after failing for the configured time, and re-enabled."""

import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from aidmatch.events import Audience, EventType
from apps.events.services import record_event
from apps.webhooks import services
from apps.webhooks.models import Delivery, DeliveryStatus, OwnerKind, WebhookEndpoint
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _event(donor, resource_id):
    return record_event(
        EventType.PLEDGE_REDUCED,
        resource_id=resource_id,
        payloads={Audience.DONOR: {"id": resource_id}},
        donor_id=donor.pk,
    )


def _dispatch_until(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        services.dispatch_due()
        if predicate():
            return
        time.sleep(0.05)
    rows = Delivery.objects.values_list("status", "attempts", "last_error")
    raise AssertionError(f"not within the time: {list(rows)}")


def test_a_resources_next_event_waits_until_the_previous_one_gave_up(
    receiver, loopback_allowed, settings
):
    settings.WEBHOOKS_RETRY_SCHEDULE = [0.1, 0.1]
    donor = UserFactory()
    endpoint = services.endpoint_create(owner_kind=OwnerKind.DONOR, user=donor, url=receiver.url)
    with transaction.atomic():  # the receiver knows the id before anything is sent
        first = _event(donor, "p1")
        receiver.status_for = lambda body: 500 if first.public_id.encode() in body else 200
    second = _event(donor, "p1")
    other = _event(donor, "p2")
    _dispatch_until(
        lambda: Delivery.objects.filter(endpoint=endpoint, status="delivered").count() == 2
    )
    ids = receiver.ids(None)
    assert ids.count(first.public_id) == 3
    assert ids.count(second.public_id) == ids.count(other.public_id) == 1
    # p2 was not held up by p1; p1's second event went only after its first one gave up.
    assert ids.index(second.public_id) > max(i for i, x in enumerate(ids) if x == first.public_id)
    failed = Delivery.objects.get(endpoint=endpoint, event=first)
    assert failed.status == DeliveryStatus.FAILED and failed.attempts == 3


def test_an_endpoint_failing_for_days_is_disabled_and_its_owner_emailed(
    receiver, loopback_allowed, settings
):
    settings.WEBHOOKS_RETRY_SCHEDULE = [0.1] * 5
    donor = UserFactory()
    endpoint = services.endpoint_create(owner_kind=OwnerKind.DONOR, user=donor, url=receiver.url)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(hours=72, minutes=1)
    )
    receiver.default = 503
    _event(donor, "p1")
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "failed since" in endpoint.disabled_reason
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [donor.email]
    assert str(endpoint.pk) in mail.outbox[0].body

    # Disabled: nothing more is sent, and later events are not queued for it (the feed has
    # them); enabled again, the delivery that was waiting goes out.
    later = _event(donor, "p2")
    time.sleep(0.3)
    services.dispatch_due()
    assert len(receiver.requests) == 1
    assert not Delivery.objects.filter(event=later).exists()
    receiver.default = 200
    services.endpoint_enable(endpoint)
    _dispatch_until(lambda: Delivery.objects.filter(endpoint=endpoint, status="delivered").exists())
    assert receiver.ids() == [Delivery.objects.get(endpoint=endpoint).event.public_id]


def test_a_success_clears_the_failing_mark(receiver, loopback_allowed):
    donor = UserFactory()
    endpoint = services.endpoint_create(owner_kind=OwnerKind.DONOR, user=donor, url=receiver.url)
    receiver.statuses = [500]
    _event(donor, "p1")
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    _dispatch_until(lambda: Delivery.objects.filter(status="delivered").exists())
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.enabled


def test_the_schedule_spreads_over_three_days():
    """5 s, 5 min, 30 min, 2 h, 5 h, then every 10 h: 13 attempts over about three days."""
    from django.conf import settings

    schedule = settings.WEBHOOKS_RETRY_SCHEDULE
    assert schedule[:7] == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert schedule == sorted(schedule)
    assert sum(schedule) / 86400 == pytest.approx(3.2, abs=0.05)
    assert 2.8 * 86400 < sum(schedule) * (1 - settings.WEBHOOKS_RETRY_JITTER)


def test_finished_deliveries_are_purged_after_the_log_days(receiver, loopback_allowed):
    donor = UserFactory()
    endpoint = services.endpoint_create(owner_kind=OwnerKind.DONOR, user=donor, url=receiver.url)
    _event(donor, "p1")
    assert Delivery.objects.filter(endpoint=endpoint, status="delivered").count() == 1
    assert services.purge_log(timezone.now() + timedelta(days=29)) == 0
    assert services.purge_log(timezone.now() + timedelta(days=31)) == 2  # delivery + attempt
    assert not Delivery.objects.exists()


def test_an_endpoint_whose_delivery_used_up_every_attempt_is_disabled(
    receiver, loopback_allowed, settings
):
    """No success on the endpoint since the delivery's first attempt: dead, whatever the hours
    (here the schedule is seconds long)."""
    settings.WEBHOOKS_RETRY_SCHEDULE = [0.05, 0.05]
    donor = UserFactory()
    endpoint = services.endpoint_create(owner_kind=OwnerKind.DONOR, user=donor, url=receiver.url)
    receiver.default = 500
    _event(donor, "p1")
    _dispatch_until(lambda: Delivery.objects.filter(status="failed").exists())
    endpoint.refresh_from_db()
    assert not endpoint.enabled and len(mail.outbox) == 1
    assert len(receiver.requests) == 3
