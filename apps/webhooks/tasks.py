from celery import shared_task

from apps.webhooks import services


@shared_task(name="apps.webhooks.tasks.send_deliveries", ignore_result=True)
def send_deliveries(claims: list[list]) -> None:
    """One attempt of each delivery the dispatcher claimed ([id, token] pairs). Not acks_late:
    a lost message or a killed worker leaves the claims to expire, and the dispatcher claims
    the rows again."""
    services.attempt_many([(int(pk), str(token)) for pk, token in claims])


@shared_task(name="apps.webhooks.tasks.dispatch_webhooks", ignore_result=True)
def dispatch_webhooks() -> int:
    """Beat's backstop for the workers' own dispatcher loop."""
    return services.dispatch_due()


@shared_task(name="apps.webhooks.tasks.purge_webhook_log", ignore_result=True)
def purge_webhook_log() -> int:
    return services.purge_log()
