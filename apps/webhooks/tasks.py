from celery import shared_task

from apps.webhooks import services


@shared_task(name="apps.webhooks.tasks.send_delivery", ignore_result=True)
def send_delivery(delivery_id: int, token: str) -> None:
    """One attempt of a delivery the dispatcher claimed. Not acks_late: a lost message or a
    killed worker leaves the claim to expire, and the dispatcher claims the row again."""
    services.attempt(delivery_id, token)


@shared_task(name="apps.webhooks.tasks.dispatch_webhooks", ignore_result=True)
def dispatch_webhooks() -> int:
    """Beat's backstop for the workers' own dispatcher loop."""
    return services.dispatch_due()
