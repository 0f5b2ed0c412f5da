"""Deliveries with a real Celery worker process on Redis and PostgreSQL, to a receiver on
loopback: retries until a 2xx with one event id; a worker killed mid-delivery; many concurrent
changes delivered once each, in commit order per resource; isolation between owners; Redis down
while changes commit."""

import json
import os
import signal
import socket
import subprocess
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction

from aidmatch.events import Audience, EventType
from apps.events.models import Event
from apps.events.services import record_event
from apps.webhooks import services
from apps.webhooks.models import Delivery, DeliveryAttempt, DeliveryStatus, OwnerKind
from config.celery_app import app as celery_app
from tests.factories import OrganizationFactory, PledgeFactory, UserFactory
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.worker


def _pledge_event(donor, resource_id, n=1, event_type=EventType.PLEDGE_CREATED):
    return record_event(
        event_type,
        resource_id=resource_id,
        payloads={
            Audience.DONOR: {"id": str(resource_id), "n": n},
            Audience.VERIFIER: {"id": str(resource_id), "n": n, "donor": donor.email},
        },
        donor_id=donor.pk,
    )


def _endpoint(url, **owner):
    if "organization" in owner:
        return services.endpoint_create(owner_kind=OwnerKind.ORGANIZATION, url=url, **owner)
    user = owner["user"]
    kind = OwnerKind.VERIFIER if user.is_verifier else OwnerKind.DONOR
    return services.endpoint_create(owner_kind=kind, url=url, **owner)


def test_500_three_times_then_200_is_delivered_after_4_attempts_with_one_id(
    start_worker, receiver, in_process
):
    start_worker()
    receiver.statuses = [500, 500, 500]
    donor = UserFactory()
    endpoint = _endpoint(receiver.url, user=donor)
    event = _pledge_event(donor, "p-retry")

    delivery = wait_for(
        lambda: Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.DELIVERED).first(),
        timeout=30,
    )
    assert delivery.attempts == 4 and delivery.event_id == event.pk
    attempts = list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [a.number for a in attempts] == [1, 2, 3, 4]
    assert [a.status_code for a in attempts] == [500, 500, 500, 200]
    assert [a.succeeded for a in attempts] == [False, False, False, True]
    assert all(a.error == "HTTP 500" for a in attempts[:3]) and attempts[3].error == ""
    assert receiver.ids(None) == [event.public_id] * 4
    # Backoff: each retry waited at least most of its 0.3 s (jitter ±20 %).
    gaps = [b.at - a.at for a, b in zip(receiver.requests, receiver.requests[1:], strict=False)]
    assert all(gap >= 0.2 for gap in gaps), gaps


def test_a_worker_killed_mid_delivery_delivers_after_restart(start_worker, receiver, in_process):
    worker = start_worker()
    receiver.hold = True  # the first request waits while we kill the worker
    donor = UserFactory()
    endpoint = _endpoint(receiver.url, user=donor)
    event = _pledge_event(donor, "p-kill")

    assert receiver.arrived.wait(30)
    worker.kill_group()  # SIGKILL during the attempt: nothing recorded, the claim is left
    receiver.hold = False
    receiver.release.set()
    assert Delivery.objects.get(endpoint=endpoint).status == DeliveryStatus.SENDING

    start_worker()
    delivery = wait_for(
        lambda: Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.DELIVERED).first(),
        timeout=45,
    )
    assert delivery.event_id == event.pk
    ids = receiver.ids(None)
    assert len(ids) >= 2 and set(ids) == {event.public_id}  # at least once, one id
    effects = {json.loads(r.body)["id"] for r in receiver.requests}  # dedup by id
    assert effects == {event.public_id}


def test_50_concurrent_changes_are_delivered_once_each_in_commit_order_per_resource(
    start_worker, receiver, in_process
):
    start_worker()
    verifier = UserFactory(platform_role="verifier")
    donor = UserFactory()
    _endpoint(receiver.url, user=verifier)
    donor_endpoint = _endpoint(receiver.url + "/donor", user=donor)
    pledges = [PledgeFactory(donor=donor) for _ in range(5)]
    from apps.pledges.models import Pledge

    def change(index):
        """One state change: lock the pledge, record its next event, commit."""
        pledge = pledges[index % len(pledges)]
        try:
            with transaction.atomic():
                Pledge.objects.select_for_update().get(pk=pledge.pk)
                n = Event.objects.filter(resource_id=str(pledge.pk)).count() + 1
                _pledge_event(donor, pledge.pk, n, EventType.PLEDGE_REDUCED)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(change, range(50)))

    wait_for(lambda: len(receiver.ids()) >= 100, timeout=60)
    time.sleep(1)  # nothing more arrives
    for path in ("/hook", "/hook/donor"):
        got = [r for r in receiver.requests if r.path == path]
        bodies = [json.loads(r.body) for r in got]
        assert len(bodies) == 50, path
        assert len({b["id"] for b in bodies}) == 50  # none duplicated
        per_resource = defaultdict(list)
        for body in bodies:  # arrival order
            per_resource[body["resource"]["id"]].append((body["data"]["n"], body["position"]))
        for sequence in per_resource.values():
            assert [n for n, _ in sequence] == list(range(1, 11))  # commit order
            positions = [p for _, p in sequence]
            assert positions == sorted(positions)
    # The receiver answers before the worker records the answer: wait for the rows.
    wait_for(
        lambda: (
            not Delivery.objects.filter(endpoint=donor_endpoint)
            .exclude(status=DeliveryStatus.DELIVERED)
            .exists()
        ),
        timeout=30,
    )


def test_each_owner_hears_only_its_own_events(start_worker, receiver, in_process):
    start_worker()
    donor_a, donor_b = UserFactory(), UserFactory()
    org_x, org_y = OrganizationFactory(), OrganizationFactory()
    _endpoint(receiver.url + "/a", user=donor_a)
    _endpoint(receiver.url + "/b", user=donor_b)
    _endpoint(receiver.url + "/x", organization=org_x)
    _endpoint(receiver.url + "/y", organization=org_y)

    _pledge_event(donor_a, "pa")
    _pledge_event(donor_b, "pb")
    for org in (org_x, org_y):
        record_event(
            EventType.NEED_APPROVED,
            resource_id=f"n-{org.pk}",
            payloads={Audience.ORGANIZATION: {"org": str(org.pk)}},
            organization_id=org.pk,
        )
    # An allocation between donor A and org X: each sees its own rendering.
    record_event(
        EventType.ALLOCATION_PROPOSED,
        resource_id="al-1",
        payloads={
            Audience.ORGANIZATION: {"donor": donor_a.email},
            Audience.DONOR: {"organization": "A verified organization"},
        },
        organization_id=org_x.pk,
        donor_id=donor_a.pk,
    )

    wait_for(lambda: len(receiver.requests) >= 6, timeout=30)
    time.sleep(1.5)
    by_path = defaultdict(list)
    for r in receiver.requests:
        body = json.loads(r.body)
        by_path[r.path.rsplit("/", 1)[-1]].append((body["resource"]["id"], body["data"]))
    assert sorted(by_path["a"], key=str) == sorted(
        [("pa", {"id": "pa", "n": 1}), ("al-1", {"organization": "A verified organization"})],
        key=str,
    )
    assert by_path["b"] == [("pb", {"id": "pb", "n": 1})]
    assert sorted(by_path["x"], key=str) == sorted(
        [(f"n-{org_x.pk}", {"org": str(org_x.pk)}), ("al-1", {"donor": donor_a.email})], key=str
    )
    assert by_path["y"] == [(f"n-{org_y.pk}", {"org": str(org_y.pk)})]
    assert set(by_path) == {"a", "b", "x", "y"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_server(port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(
        lambda: (
            subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True
            ).stdout.strip()
            == "PONG"
        ),
        timeout=10,
    )
    return proc


@pytest.fixture
def own_redis(settings):
    """A redis-server of this test's own (the shared one on 6379 is never stopped), used by
    this process's Celery client and by the worker."""
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    state = {"proc": _redis_server(port), "port": port, "url": url}
    conf = celery_app.conf
    saved = (conf.broker_url, celery_app._pool)
    conf.broker_url = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    yield state
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    conf.broker_url, celery_app._pool = saved
    celery_app.amqp._producer_pool = None
    proc = state["proc"]
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def test_events_committed_while_redis_is_down_go_out_when_it_returns(
    own_redis, start_worker, receiver, in_process
):
    start_worker(REDIS_URL=own_redis["url"], CELERY_BROKER_URL=own_redis["url"])
    donor = UserFactory()
    endpoint = _endpoint(receiver.url, user=donor)
    _pledge_event(donor, "before")
    wait_for(lambda: len(receiver.ids()) == 1, timeout=30)

    own_redis["proc"].send_signal(signal.SIGTERM)
    own_redis["proc"].wait(timeout=10)
    events = [_pledge_event(donor, f"down-{n}") for n in range(5)]  # commits need no Redis
    # The worker relays and fans out (PostgreSQL only); the deliveries wait for the broker.
    wait_for(
        lambda: Delivery.objects.filter(endpoint=endpoint, event__in=events).count() == 5,
        timeout=30,
    )
    time.sleep(3)
    assert len(receiver.requests) == 1
    assert not Delivery.objects.filter(
        endpoint=endpoint, event__in=events, status=DeliveryStatus.DELIVERED
    ).exists()

    own_redis["proc"] = _redis_server(own_redis["port"])  # back, empty: nothing was queued there
    wait_for(lambda: len(receiver.ids()) == 6, timeout=60)
    assert set(receiver.ids()[1:]) == {e.public_id for e in events}
    # The receiver has answered; the worker records each answer just after: wait for the rows.
    wait_for(
        lambda: (
            Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.DELIVERED).count() == 6
        ),
        timeout=30,
    )
    assert os.environ.get("REDIS_URL", "").find(str(own_redis["port"])) == -1
