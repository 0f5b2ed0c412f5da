"""Writing events into the outbox, and what one audience sees of one."""

from collections.abc import Mapping

from django.conf import settings
from django.db import transaction

from aidmatch.events import Audience, EventType, resource_of
from apps.events.models import Event


def record_event(
    event_type: EventType | str,
    *,
    resource_id,
    payloads: Mapping[Audience | str, dict],
    organization_id=None,
    donor_id=None,
    donor_organization_id=None,
    occurred_at=None,
) -> Event:
    """Write one event in the current transaction (one INSERT). Call it after the change and
    under the resource's row lock, so one resource's events are inserted in commit order."""
    event = Event(
        type=str(event_type),
        resource_type=resource_of(str(event_type)),
        resource_id=str(resource_id),
        organization_id=organization_id,
        donor_id=donor_id,
        donor_organization_id=donor_organization_id,
        payloads={str(audience): data for audience, data in payloads.items()},
    )
    if occurred_at is not None:
        event.occurred_at = occurred_at
    event.save(force_insert=True)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # No worker polls the outbox in the embedded mode: relay once the change commits.
        from apps.events.relay import relay_pending

        transaction.on_commit(relay_pending)
    return event


def audience_for(
    event: Event, *, user_id=None, organization_id=None, verifier: bool = False
) -> Audience | None:
    """How a subscriber sees an event: a verifier user, an organization (its members and API
    keys), or a donor user; None when the event is not theirs."""
    if verifier:
        return Audience.VERIFIER
    if organization_id is not None and organization_id == event.organization_id:
        return Audience.ORGANIZATION
    if user_id is not None and user_id == event.donor_id:
        return Audience.DONOR
    if organization_id is not None and organization_id == event.donor_organization_id:
        return Audience.DONOR
    return None


def envelope(event: Event, audience: Audience | str) -> dict:
    """The JSON an audience receives (webhook body, feed item): the same id on every attempt."""
    return {
        "id": event.public_id,
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "position": event.position,
        "resource": {"type": event.resource_type, "id": event.resource_id},
        "data": event.payloads.get(str(audience), {}),
    }
