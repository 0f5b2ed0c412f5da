from celery import shared_task

from apps.events.relay import relay_pending


@shared_task(name="apps.events.tasks.relay_events", ignore_result=True)
def relay_events() -> int:
    """Beat's backstop for the workers' own relay loop."""
    return relay_pending()


@shared_task(name="apps.events.tasks.purge_old_events", ignore_result=True)
def purge_old_events() -> int:
    """Beat's hourly purge of events past EVENTS_RETENTION_DAYS."""
    from apps.events.services import events_purge

    return events_purge()
