"""Telling an endpoint's owners that it was disabled after failing for days (the text:
``notices/email/webhook_disabled_*.txt``, in each owner's language)."""

import logging

from django.core.mail import get_connection

from aidmatch.access import MemberRole
from apps.notices.emails import Recipient, compose
from apps.organizations.selectors import member_recipients
from apps.webhooks.models import OwnerKind, WebhookEndpoint

logger = logging.getLogger(__name__)


def owner_recipients(endpoint: WebhookEndpoint) -> list[Recipient]:
    if endpoint.owner_kind == OwnerKind.ORGANIZATION:
        return member_recipients(endpoint.organization_id, [MemberRole.ADMIN])
    user = endpoint.user
    return [(user.email, user.language)] if user is not None and user.is_active else []


def notify_disabled(endpoint: WebhookEndpoint) -> int:
    """Email the owners; the number of messages sent. A failing mail server is logged."""
    context = {
        "id": str(endpoint.id),
        "url": endpoint.url,
        "reason": endpoint.disabled_reason,
        "failing_since": endpoint.failing_since,
    }
    messages = compose("webhook_disabled", context, owner_recipients(endpoint))
    if not messages:
        return 0
    try:
        return get_connection().send_messages(messages) or 0
    except Exception:
        logger.exception("could not email the owners of webhook endpoint %s", endpoint.id)
        return 0
