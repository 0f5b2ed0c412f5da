"""The notices' receiver of ``apps.events.signals.events_published`` (connected in apps.py)."""

import logging

from django.db import transaction

from apps.notices.services import notify_for_events

logger = logging.getLogger(__name__)


def email_on_events(sender, events, **kwargs) -> None:
    """In a savepoint of the relay's transaction: an error here is logged and undone, and never
    holds the outbox back (the webhooks and the feed go on; these emails are not retried)."""
    try:
        with transaction.atomic():
            notify_for_events(events)
    except Exception:
        logger.exception("notices for %d events failed", len(events))
