"""The notices' receiver of ``apps.events.signals.events_published`` (connected in apps.py)."""

from apps.notices.services import notify_for_events


def email_on_events(sender, events, **kwargs) -> None:
    notify_for_events(events)
