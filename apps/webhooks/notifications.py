"""Telling an endpoint's owners that it was disabled after failing for days."""

import logging

from django.core.mail import EmailMessage

from aidmatch.access import MemberRole
from apps.organizations.selectors import member_emails
from apps.webhooks.models import OwnerKind, WebhookEndpoint

logger = logging.getLogger(__name__)


def owner_emails(endpoint: WebhookEndpoint) -> list[str]:
    if endpoint.owner_kind == OwnerKind.ORGANIZATION:
        return member_emails(endpoint.organization_id, [MemberRole.ADMIN])
    user = endpoint.user
    return [user.email] if user is not None and user.is_active else []


def notify_disabled(endpoint: WebhookEndpoint) -> int:
    """Email the owners; the number of messages sent. A failing mail server is logged."""
    recipients = owner_emails(endpoint)
    if not recipients:
        return 0
    message = EmailMessage(
        subject="AidMatch: a webhook endpoint was disabled",
        body=(
            f"The webhook endpoint {endpoint.id} ({endpoint.url}) was disabled: "
            f"{endpoint.disabled_reason}\nFix the receiver and enable it again (POST "
            f"/api/v1/webhook-endpoints/{endpoint.id}/enable): the deliveries that were waiting "
            "go out then; events from while it was disabled are in the feed (GET /api/v1/events/)."
        ),
        to=recipients,
    )
    try:
        return message.send()
    except Exception:
        logger.exception("could not email the owners of webhook endpoint %s", endpoint.id)
        return 0
