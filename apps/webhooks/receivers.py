"""The fan-out: the relay's ``events_published`` writes one delivery per (event, endpoint)."""

from django.dispatch import receiver

from apps.events.signals import events_published
from apps.webhooks.services import fan_out


@receiver(events_published, dispatch_uid="webhooks.fan_out")
def _fan_out(sender, events, **kwargs) -> None:
    fan_out(events)
