from celery import shared_task

from apps.events.relay import relay_pending


@shared_task(name="apps.events.tasks.relay_events", ignore_result=True)
def relay_events() -> int:
    """Beat's backstop for the workers' own relay loop."""
    return relay_pending()
