"""Webhook endpoints and their deliveries: the rules (views only call these).

Delivery is driven by PostgreSQL: a ``Delivery`` row per (event, endpoint) is written by the
fan-out in the relay's transaction, and ``dispatch_due`` claims due rows (FOR UPDATE SKIP LOCKED,
with a lease) and sends each to Celery; ``send_delivery`` (the task) makes one attempt and
schedules the next. A message lost with the broker, or a worker killed mid-attempt, leaves a row
whose lease runs out and is claimed again, so every event is delivered at least once with the
same ``webhook-id``; receivers deduplicate by it.

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
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from aidmatch.errors import RuleViolation, StateConflict
from aidmatch.events import Audience, EventType
from apps.events.models import Event
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
            f"Unknown event types: {', '.join(bad)}",
            errors={"event_types": [f"Unknown event type '{t}'." for t in bad]},
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
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
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
        raise StateConflict("Enable the endpoint before sending it a test event.")
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
        raise StateConflict("Enable the endpoint before sending an event again.")
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
    endpoints = list(WebhookEndpoint.objects.filter(enabled=True))
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
    """Claim due deliveries (another dispatcher's rows are skipped): (id, token) pairs."""
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
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("id", flat=True)[:room]
        )
        if not rows:
            return []
        lease = now + timedelta(seconds=settings.WEBHOOKS_LEASE_SECONDS)
        claims = []
        for pk in rows:
            token = uuid.uuid4()
            claims.append((pk, str(token)))
            Delivery.objects.filter(pk=pk).update(
                status=DeliveryStatus.SENDING, claim_token=token, lease_expires_at=lease
            )
    return claims


def _unclaim(claims: list[tuple[int, str]]) -> None:
    for pk, token in claims:
        Delivery.objects.filter(pk=pk, claim_token=token, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.PENDING, claim_token=None, lease_expires_at=None
        )


def dispatch_due(max_rounds: int = 10) -> int:
    """Claim due deliveries and hand each to a worker (in-process when tasks run eagerly); the
    number handed out. With the broker down the claims are released at once and the rows wait."""
    from apps.webhooks.tasks import send_delivery

    sent = 0
    for _ in range(max_rounds):
        claims = claim_due()
        if not claims:
            break
        for index, (pk, token) in enumerate(claims):
            try:
                send_delivery.apply_async((pk, token), retry=False)
            except Exception:
                log.warning("webhook deliveries not enqueued (broker down?); they wait")
                _unclaim(claims[index:])
                return sent
            sent += 1
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


def attempt(delivery_id: int, token: str) -> DeliveryAttempt | None:
    """One attempt of a claimed delivery (None when the claim is no longer ours)."""
    from apps.webhooks import sending

    now = timezone.now()
    # Renew the lease for this attempt; a claim that was taken over is not ours any more.
    renewed = Delivery.objects.filter(
        pk=delivery_id, claim_token=token, status=DeliveryStatus.SENDING
    ).update(
        lease_expires_at=now
        + timedelta(
            seconds=max(settings.WEBHOOKS_LEASE_SECONDS, 2 * settings.WEBHOOKS_TIMEOUT_SECONDS + 5)
        )
    )
    if not renewed:
        return None
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
    return _record(delivery_id, token, result, attempted_at=now)


def _record(delivery_id, token, result, *, attempted_at) -> DeliveryAttempt | None:
    from apps.webhooks.notifications import notify_disabled

    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .filter(pk=delivery_id, claim_token=token, status=DeliveryStatus.SENDING)
            .first()
        )
        if delivery is None:
            return None
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        now = timezone.now()
        delivery.attempts += 1
        logged = DeliveryAttempt.objects.create(
            delivery=delivery,
            endpoint=endpoint,
            number=delivery.attempts,
            attempted_at=attempted_at,
            status_code=result.status_code,
            duration_ms=result.duration_ms,
            succeeded=result.succeeded,
            error=result.error,
        )
        delivery.claim_token = None
        delivery.lease_expires_at = None
        delivery.last_status_code = result.status_code
        delivery.last_error = result.error
        if result.succeeded:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
            if endpoint.failing_since is not None:
                endpoint.failing_since = None
                endpoint.save(update_fields=["failing_since"])
        else:
            delay = retry_delay(delivery.attempts)
            if delay is None:
                delivery.status = DeliveryStatus.FAILED
            else:
                delivery.status = DeliveryStatus.PENDING
                delivery.next_attempt_at = now + timedelta(seconds=delay)
            if endpoint.failing_since is None:
                endpoint.failing_since = attempted_at
                endpoint.save(update_fields=["failing_since"])
            elif endpoint.enabled and now - endpoint.failing_since >= timedelta(
                hours=settings.WEBHOOKS_DISABLE_AFTER_HOURS
            ):
                endpoint_disable(
                    endpoint,
                    reason=f"Every delivery failed since {endpoint.failing_since:%Y-%m-%d %H:%M} "
                    f"UTC (last: {result.error or result.status_code}).",
                )
                transaction.on_commit(lambda: notify_disabled(endpoint))
        delivery.save()
    if result.succeeded and delivery.ordered:
        kick()  # the resource's next event may be due now
    return logged
