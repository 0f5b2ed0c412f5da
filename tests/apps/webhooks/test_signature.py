"""Signatures per Standard Webhooks: the README's receiver snippet (the standardwebhooks package)
accepts a real delivery and rejects a tampered body, a wrong secret and an old timestamp; after a
rotation both secrets verify for 24 hours."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from aidmatch.events import Audience, EventType
from apps.events.services import record_event
from apps.webhooks import services
from apps.webhooks.models import DeliveryAttempt, DeliveryStatus, OwnerKind
from apps.webhooks.sending import sign
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

# The receiver snippet of README.md ("For partner apps → Webhooks"), verbatim.
README_SNIPPET = '''
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

def verify(secret: str, body: bytes, headers: dict) -> dict | None:
    """The event if the request is really from AidMatch and recent, else None."""
    try:
        return Webhook(secret).verify(body, headers)  # checks the timestamp too (5 minutes)
    except WebhookVerificationError:
        return None
'''


def readme_verify():
    namespace: dict = {}
    exec(README_SNIPPET, namespace)  # noqa: S102 (the README's own code, run as a receiver would)
    return namespace["verify"]


def _deliver_one(endpoint, donor, resource_id="p1"):
    record_event(
        EventType.PLEDGE_CREATED,
        resource_id=resource_id,
        payloads={Audience.DONOR: {"id": resource_id, "amount": "10.00"}},
        donor_id=donor.pk,
    )


def test_the_readme_snippet_accepts_a_real_delivery_and_rejects_forgeries(
    receiver, loopback_allowed
):
    donor = UserFactory()
    endpoint = services.endpoint_create(owner_kind=OwnerKind.DONOR, user=donor, url=receiver.url)
    _deliver_one(endpoint, donor)  # tasks run eagerly here: the relay and the attempt follow
    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    verify = readme_verify()

    event = verify(endpoint.secret, got.body, got.headers)
    assert event is not None and event["id"] == got.headers["webhook-id"]
    assert event["type"] == "pledge.created" and event["data"]["amount"] == "10.00"

    tampered = got.body.replace(b"10.00", b"99.00")
    assert tampered != got.body and verify(endpoint.secret, tampered, got.headers) is None
    assert verify(services.new_secret(), got.body, got.headers) is None

    old = int(time.time()) - 6 * 60
    stale = {
        **got.headers,
        "webhook-timestamp": str(old),
        "webhook-signature": sign(
            [endpoint.secret], got.headers["webhook-id"], old, got.body.decode()
        ),
    }
    assert verify(endpoint.secret, got.body, stale) is None
    fresh_now = int(time.time())
    resigned = {
        **stale,
        "webhook-timestamp": str(fresh_now),
        "webhook-signature": sign(
            [endpoint.secret], got.headers["webhook-id"], fresh_now, got.body.decode()
        ),
    }
    assert verify(endpoint.secret, got.body, resigned) is not None  # only the age was wrong


def test_after_a_rotation_both_secrets_verify_for_24_hours(receiver, loopback_allowed):
    donor = UserFactory()
    endpoint = services.endpoint_create(owner_kind=OwnerKind.DONOR, user=donor, url=receiver.url)
    old_secret = endpoint.secret
    endpoint = services.endpoint_rotate_secret(endpoint)
    _deliver_one(endpoint, donor)
    got = receiver.requests[-1]
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    verify = readme_verify()
    assert verify(endpoint.secret, got.body, got.headers) is not None
    assert verify(old_secret, got.body, got.headers) is not None

    # 24 hours on, the previous secret no longer signs.
    later = timezone.now() + timedelta(hours=24, seconds=1)
    assert endpoint.signing_secrets(later) == [endpoint.secret]


def test_a_test_event_goes_to_that_endpoint_only(receiver, loopback_allowed):
    donor = UserFactory()
    one = services.endpoint_create(owner_kind=OwnerKind.DONOR, user=donor, url=receiver.url)
    other = services.endpoint_create(
        owner_kind=OwnerKind.DONOR, user=donor, url=receiver.url + "/other"
    )
    delivery = services.endpoint_send_test(one)
    assert [r.path for r in receiver.requests] == ["/hook"]
    body = json.loads(receiver.requests[0].body)
    assert body["type"] == "webhook.test" and body["data"]["endpoint_id"] == str(one.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert not DeliveryAttempt.objects.filter(endpoint=other).exists()

    again = services.delivery_resend(one, delivery)
    again.refresh_from_db()
    assert again.status == DeliveryStatus.DELIVERED
    assert receiver.ids() == [delivery.event.public_id] * 2  # the same id: one effect


def test_the_api_sends_a_test_event_lists_attempts_and_resends(receiver, loopback_allowed):
    from tests.conftest import client_for

    donor = UserFactory()
    client = client_for(donor)
    created = client.post("/api/v1/webhook-endpoints/", {"url": receiver.url}, format="json").json()
    path = f"/api/v1/webhook-endpoints/{created['id']}/"
    receiver.statuses = [500]
    queued = client.post(f"{path}test")
    assert queued.status_code == 202, queued.content
    assert queued.json()["event_type"] == "webhook.test"

    listed = client.get(f"{path}deliveries")
    assert listed.status_code == 200
    (row,) = listed.json()["results"]
    assert row["attempt"] == 1 and row["status_code"] == 500 and row["error"] == "HTTP 500"
    assert row["event_id"] == queued.json()["event_id"] and row["duration_ms"] >= 0
    assert row["delivery_status"] == "pending" and not row["succeeded"]

    again = client.post(f"{path}deliveries/{row['delivery_id']}/resend")
    assert again.status_code == 202, again.content
    assert again.json()["event_id"] == row["event_id"]
    rows = client.get(f"{path}deliveries").json()["results"]
    assert [r["status_code"] for r in rows] == [200, 500]  # newest first
    assert client.post(f"{path}deliveries/999999999/resend").status_code == 404
    assert receiver.ids(None) == [row["event_id"]] * 2
