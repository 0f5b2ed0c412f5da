"""Webhook endpoints and their deliveries: the rules (views only call these).

Delivery is driven by PostgreSQL: a ``Delivery`` row per (event, endpoint) is written by the
fan-out in the relay's transaction, and ``dispatch_due`` claims due rows (FOR NO KEY UPDATE SKIP
LOCKED, with a lease) and sends them to Celery; ``send_deliveries`` (the task) makes one attempt of
each and schedules the next. A message lost with the broker, or a worker killed mid-attempt, leaves
a row whose lease runs out and is claimed again, so every event is delivered at least once with
the same ``webhook-id``; receivers deduplicate by it.

Order: an endpoint gets one resource's events one at a time, in position (commit) order; the
next is sent only once the previous one was delivered or failed for good. Other resources' events
are not held up.
"""

import base64
import json
import logging
import random
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_noop as _

from aidmatch.errors import RuleViolation, StateConflict
from aidmatch.events import Audience, EventType
from apps.events.models import Event
from apps.events.reads import record_delivered_reads
from apps.events.services import audience_for, envelope, record_event
from apps.webhooks.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    OwnerKind,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)

OPEN = [DeliveryStatus.PENDING, DeliveryStatus.SENDING]


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


# --- endpoints ----------------------------------------------------------------------------


def validate_event_types(event_types: list[str]) -> list[str]:
    known = {t.value for t in EventType}
    bad = [t for t in event_types if t not in known]
    if bad:
        raise RuleViolation(
            _("Unknown event types: %(types)s"),
            errors={"event_types": [_("Unknown event types: %(types)s")]},
            params={"types": ", ".join(bad)},
        )
    return sorted(set(event_types))


def endpoint_create(
    *, owner_kind: OwnerKind, user=None, organization=None, created_by=None, **fields
) -> WebhookEndpoint:
    fields["event_types"] = validate_event_types(fields.get("event_types") or [])
    return WebhookEndpoint.objects.create(
        owner_kind=owner_kind,
        user=user,
        organization=organization,
        created_by=created_by,
        secret=new_secret(),
        **fields,
    )


def endpoint_update(endpoint: WebhookEndpoint, **fields) -> WebhookEndpoint:
    if "event_types" in fields:
        fields["event_types"] = validate_event_types(fields["event_types"] or [])
    for name, value in fields.items():
        setattr(endpoint, name, value)
    endpoint.save()
    return endpoint


def endpoint_rotate_secret(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """A new secret; the current one keeps signing for WEBHOOKS_PREVIOUS_SECRET_HOURS."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint.pk)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = timezone.now() + timedelta(
            hours=settings.WEBHOOKS_PREVIOUS_SECRET_HOURS
        )
        endpoint.secret = new_secret()
        endpoint.save()
    return endpoint


def endpoint_disable(endpoint: WebhookEndpoint, *, reason: str = "") -> WebhookEndpoint:
    """Stop sending; deliveries wait and go out if the endpoint is enabled again."""
    endpoint.enabled = False
    endpoint.disabled_reason = reason or "Disabled by its owner."
    endpoint.disabled_at = timezone.now()
    endpoint.save(update_fields=["enabled", "disabled_reason", "disabled_at", "updated_at"])
    return endpoint


def endpoint_enable(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    endpoint.enabled = True
    endpoint.disabled_reason = ""
    endpoint.disabled_at = None
    endpoint.failing_since = None
    endpoint.save(
        update_fields=["enabled", "disabled_reason", "disabled_at", "failing_since", "updated_at"]
    )
    Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
        next_attempt_at=timezone.now()
    )
    transaction.on_commit(kick)
    return endpoint


def _owner_of(endpoint: WebhookEndpoint) -> dict:
    if endpoint.owner_kind == OwnerKind.ORGANIZATION:
        return {"organization_id": endpoint.organization_id}
    if endpoint.owner_kind == OwnerKind.VERIFIER:
        return {"user_id": endpoint.user_id, "verifier": True}
    return {"user_id": endpoint.user_id}


def endpoint_audience(endpoint: WebhookEndpoint, event: Event) -> Audience | None:
    return audience_for(event, **_owner_of(endpoint))


def endpoint_send_test(endpoint: WebhookEndpoint) -> Delivery:
    """A ``webhook.test`` event for this endpoint only (in the owner's feed too)."""
    if not endpoint.enabled:
        raise StateConflict(_("Enable the endpoint before sending it a test event."))
    with transaction.atomic():
        audience = {
            OwnerKind.ORGANIZATION: Audience.ORGANIZATION,
            OwnerKind.DONOR: Audience.DONOR,
            OwnerKind.VERIFIER: Audience.VERIFIER,
        }[endpoint.owner_kind]
        data = {"endpoint_id": str(endpoint.id), "message": "A test event from AidMatch."}
        event = record_event(
            EventType.WEBHOOK_TEST,
            resource_id=endpoint.id,
            payloads={audience: data},
            organization_id=endpoint.organization_id,
            donor_id=endpoint.user_id if endpoint.owner_kind == OwnerKind.DONOR else None,
        )
        delivery = Delivery.objects.create(
            endpoint=endpoint,
            event=event,
            audience=audience,
            resource_key=f"webhook:{endpoint.id}",
            ordered=False,
        )
        transaction.on_commit(kick)
    return delivery


def delivery_resend(endpoint: WebhookEndpoint, delivery: Delivery) -> Delivery:
    """The same event (same id) once more, now, outside the resource's order."""
    if not endpoint.enabled:
        raise StateConflict(_("Enable the endpoint before sending an event again."))
    with transaction.atomic():
        again = Delivery.objects.create(
            endpoint=endpoint,
            event_id=delivery.event_id,
            audience=delivery.audience,
            resource_key=delivery.resource_key,
            position=delivery.position,
            ordered=False,
        )
        transaction.on_commit(kick)
    return again


# --- fan-out --------------------------------------------------------------------------------


def fan_out(events: list[Event]) -> int:
    """One delivery per (event, enabled endpoint it is for), in the caller's transaction."""
    events = [e for e in events if e.type != EventType.WEBHOOK_TEST]
    if not events:
        return 0
    # Only the endpoints these events can be for (verifiers', and their owners'), without
    # decrypting any secret.
    organizations = {e.organization_id for e in events} | {e.donor_organization_id for e in events}
    donors = {e.donor_id for e in events}
    endpoints = list(
        WebhookEndpoint.objects.filter(
            Q(owner_kind=OwnerKind.VERIFIER)
            | Q(owner_kind=OwnerKind.ORGANIZATION, organization_id__in=organizations - {None})
            | Q(owner_kind=OwnerKind.DONOR, user_id__in=donors - {None}),
            enabled=True,
        ).only("id", "owner_kind", "user_id", "organization_id", "event_types")
    )
    rows = []
    for event in events:
        for endpoint in endpoints:
            if not endpoint.wants(event.type):
                continue
            audience = endpoint_audience(endpoint, event)
            if audience is None:
                continue
            rows.append(
                Delivery(
                    endpoint=endpoint,
                    event=event,
                    audience=str(audience),
                    resource_key=f"{event.resource_type}:{event.resource_id}"[:100],
                    position=event.position,
                )
            )
    Delivery.objects.bulk_create(rows)
    if rows:
        transaction.on_commit(kick)
    return len(rows)


# --- dispatch and attempts -----------------------------------------------------------------


def _due(now):
    earlier_open = Delivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        resource_key=OuterRef("resource_key"),
        ordered=True,
        status__in=OPEN,
        position__lt=OuterRef("position"),
    )
    return (
        Delivery.objects.filter(
            Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            | Q(status=DeliveryStatus.SENDING, lease_expires_at__lte=now),
            endpoint__enabled=True,
        )
        .filter(Q(ordered=False) | ~Exists(earlier_open))
        .order_by("next_attempt_at", "id")
    )


def claim_due(limit: int | None = None) -> list[tuple[int, str]]:
    """Claim due deliveries (rows another dispatcher holds are skipped): (id, token) pairs,
    in two statements (the due rows locked, then claimed with a fresh token each)."""
    now = timezone.now()
    limit = limit or settings.WEBHOOKS_DISPATCH_BATCH
    with transaction.atomic():
        in_flight = Delivery.objects.filter(
            status=DeliveryStatus.SENDING, lease_expires_at__gt=now
        ).count()
        room = min(limit, settings.WEBHOOKS_MAX_IN_FLIGHT - in_flight)
        if room <= 0:
            return []
        rows = list(
            _due(now)
            .select_for_update(no_key=True, skip_locked=True, of=("self",))
            .values_list("id", flat=True)[:room]
        )
        if not rows:
            return []
        lease = now + timedelta(seconds=settings.WEBHOOKS_LEASE_SECONDS)
        table = Delivery._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET status = %s, claim_token = gen_random_uuid(), "  # noqa: S608
                "lease_expires_at = %s WHERE id = ANY(%s) RETURNING id, claim_token",
                [DeliveryStatus.SENDING, lease, rows],
            )
            claimed = {pk: str(token) for pk, token in cursor.fetchall()}
    return [(pk, claimed[pk]) for pk in rows]


def _unclaim(claims: list[tuple[int, str]]) -> None:
    for pk, token in claims:
        Delivery.objects.filter(pk=pk, claim_token=token, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.PENDING, claim_token=None, lease_expires_at=None
        )


def dispatch_due(max_rounds: int = 10) -> int:
    """Claim due deliveries and hand them to the workers, WEBHOOKS_TASK_BATCH to a message (run
    in-process when tasks run eagerly); the number handed out. With the broker down the claims
    are released at once and the rows wait in PostgreSQL."""
    from apps.webhooks.tasks import send_deliveries

    sent = 0
    size = settings.WEBHOOKS_TASK_BATCH
    for _round in range(max_rounds):
        claims = claim_due()
        if not claims:
            break
        for start in range(0, len(claims), size):
            batch = claims[start : start + size]
            try:
                send_deliveries.apply_async(([list(c) for c in batch],), retry=False)
            except Exception:
                log.warning("webhook deliveries not enqueued (broker down?); they wait")
                _unclaim(claims[start:])
                return sent
            sent += len(batch)
    return sent


def kick() -> None:
    """Dispatch now (after a commit that made deliveries due); never raises."""
    try:
        dispatch_due(max_rounds=1)
    except Exception:
        log.exception("webhook dispatch failed; the periodic dispatcher will retry")


def retry_delay(attempts: int) -> float | None:
    """Seconds before the attempt after ``attempts`` failed ones (None: give up)."""
    schedule = settings.WEBHOOKS_RETRY_SCHEDULE
    if attempts > len(schedule):
        return None
    base = schedule[attempts - 1]
    jitter = settings.WEBHOOKS_RETRY_JITTER
    return max(0.0, base * (1 + random.uniform(-jitter, jitter)))


def body_of(delivery: Delivery) -> str:
    return json.dumps(envelope(delivery.event, delivery.audience), separators=(",", ":"))


_pool: ThreadPoolExecutor | None = None


def attempt_many(claims: list[tuple[int, str]]) -> None:
    """Attempt claimed deliveries side by side (WEBHOOKS_SEND_CONCURRENCY at once): a slow
    receiver holds up only its own thread. One resource's events are never in one batch
    together (only the oldest open one of a resource is ever due)."""
    global _pool
    if len(claims) == 1 or settings.CELERY_TASK_ALWAYS_EAGER:
        # Eagerly (tests, the embedded mode) an attempt may dispatch the next one in the same
        # thread: one at a time, so no pool thread ever waits on the pool.
        for claim in claims:
            attempt(*claim)
        return
    if _pool is None:
        _pool = ThreadPoolExecutor(
            max_workers=settings.WEBHOOKS_SEND_CONCURRENCY, thread_name_prefix="webhooks"
        )

    def one(claim):
        close_old_connections()
        try:
            return attempt(*claim)
        finally:
            close_old_connections()

    for future in [_pool.submit(one, claim) for claim in claims]:
        try:
            future.result()
        except Exception:
            log.exception("a webhook attempt failed; its claim expires and it is tried again")


CHAIN = 50  # a resource's next events sent in the same thread at most, before the dispatcher


def attempt(delivery_id: int, token: str) -> DeliveryAttempt | None:
    """One attempt of a claimed delivery (None when the claim is no longer ours). After a
    success, the same resource's next event for the endpoint (if it waits) is claimed and sent
    right away, in this thread: no round trip through the dispatcher and the broker."""
    logged = None
    for _link in range(CHAIN):
        logged, delivery = _attempt_once(delivery_id, token)
        if logged is None or not logged.succeeded or not delivery.ordered:
            return logged
        claim = _claim_next(delivery)
        if claim is None:
            return logged
        delivery_id, token = claim
    kick()
    return logged


def _attempt_once(delivery_id: int, token: str):
    from apps.webhooks import sending

    now = timezone.now()
    # Renew the lease for this attempt; a claim that was taken over is not ours any more.
    renew = max(settings.WEBHOOKS_LEASE_SECONDS, 2 * settings.WEBHOOKS_TIMEOUT_SECONDS + 5)
    renewed = Delivery.objects.filter(
        pk=delivery_id, claim_token=token, status=DeliveryStatus.SENDING
    ).update(lease_expires_at=now + timedelta(seconds=renew))
    if not renewed:
        return None, None
    delivery = Delivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    endpoint = delivery.endpoint
    body = body_of(delivery)
    msg_id = delivery.event.public_id
    timestamp = int(now.timestamp())
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sending.sign(endpoint.signing_secrets(now), msg_id, timestamp, body),
    }
    result = sending.post(endpoint.url, body, headers)
    return _record(delivery, token, result, attempted_at=now), delivery


def _claim_next(delivery: Delivery) -> tuple[int, str] | None:
    """Claim the resource's next event for this endpoint if it is due now. The oldest open one
    is locked (waiting for a dispatcher that holds it, never skipping it for a later one) and
    claimed only if it is still pending: a dispatcher may have claimed it meanwhile."""
    now = timezone.now()
    with transaction.atomic():
        row = (
            Delivery.objects.select_for_update(no_key=True, of=("self",))
            .filter(
                endpoint_id=delivery.endpoint_id,
                resource_key=delivery.resource_key,
                ordered=True,
                status__in=OPEN,
            )
            .order_by("position")
            .values_list("id", "status", "next_attempt_at", "endpoint__enabled")
            .first()
        )
        if row is None:
            return None
        following, status, due_at, enabled = row
        if status != DeliveryStatus.PENDING or due_at > now or not enabled:
            return None
        token = uuid.uuid4()
        Delivery.objects.filter(pk=following).update(
            status=DeliveryStatus.SENDING,
            claim_token=token,
            lease_expires_at=now + timedelta(seconds=settings.WEBHOOKS_LEASE_SECONDS),
        )
    return following, str(token)


def _record(delivery: Delivery, token, result, *, attempted_at) -> DeliveryAttempt | None:
    """The attempt's outcome: the delivery's next state, the log row, the endpoint's failing
    mark (and, after failing for WEBHOOKS_DISABLE_AFTER_HOURS, the endpoint disabled)."""
    endpoint = delivery.endpoint
    now = timezone.now()
    number = delivery.attempts + 1
    fields = {
        "attempts": number,
        "claim_token": None,
        "lease_expires_at": None,
        "last_status_code": result.status_code,
        "last_error": result.error,
    }
    if result.succeeded:
        fields.update(status=DeliveryStatus.DELIVERED, delivered_at=now)
    else:
        delay = retry_delay(number)
        if delay is None:
            fields["status"] = DeliveryStatus.FAILED
        else:
            fields.update(
                status=DeliveryStatus.PENDING, next_attempt_at=now + timedelta(seconds=delay)
            )
    with transaction.atomic():
        mine = Delivery.objects.filter(
            pk=delivery.pk, claim_token=token, status=DeliveryStatus.SENDING
        ).update(**fields)
        if not mine:
            return None  # the lease ran out and another attempt took over
        logged = DeliveryAttempt.objects.create(
            delivery=delivery,
            endpoint_id=endpoint.pk,
            number=number,
            attempted_at=attempted_at,
            status_code=result.status_code,
            duration_ms=result.duration_ms,
            succeeded=result.succeeded,
            error=result.error,
        )
        if result.succeeded:
            if endpoint.failing_since is not None:
                WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
            # The receiver has the payload: its confidential fields are an audited read (the
            # audit chain's lock is taken last, as everywhere).
            record_delivered_reads(
                envelope(delivery.event, delivery.audience),
                actor=f"webhook:{endpoint.pk}",
                detail={"event": delivery.event.public_id, "delivery": delivery.pk},
            )
        else:
            _endpoint_failed(
                endpoint.pk,
                attempted_at,
                result,
                gave_up_on=delivery if fields["status"] == DeliveryStatus.FAILED else None,
            )
    return logged


def _endpoint_failed(endpoint_id, attempted_at, result, *, gave_up_on=None) -> None:
    """Mark the endpoint failing from its first failure since a success; disable it when it has
    failed for WEBHOOKS_DISABLE_AFTER_HOURS, or when a delivery used up every attempt (about
    three days) with no success anywhere on the endpoint since that delivery's first one."""
    from apps.webhooks.notifications import notify_disabled

    endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).get(pk=endpoint_id)
    if endpoint.failing_since is None:
        endpoint.failing_since = attempted_at
        endpoint.save(update_fields=["failing_since"])
        return
    if not endpoint.enabled:
        return
    dead = timezone.now() - endpoint.failing_since >= timedelta(
        hours=settings.WEBHOOKS_DISABLE_AFTER_HOURS
    )
    if not dead and gave_up_on is not None:
        first = (
            DeliveryAttempt.objects.filter(delivery=gave_up_on)
            .order_by("number")
            .values_list("attempted_at", flat=True)
            .first()
        )
        dead = first is not None and endpoint.failing_since <= first
    if dead:
        endpoint_disable(
            endpoint,
            reason=f"Every delivery failed since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC "
            f"(last: {result.error or result.status_code}).",
        )
        transaction.on_commit(lambda: notify_disabled(endpoint))


def purge_log(now=None) -> int:
    """Delete finished deliveries (and their attempts) older than WEBHOOKS_LOG_DAYS."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.WEBHOOKS_LOG_DAYS)
    deleted, _ = Delivery.objects.filter(
        status__in=[DeliveryStatus.DELIVERED, DeliveryStatus.FAILED], created_at__lt=cutoff
    ).delete()
    return deleted
