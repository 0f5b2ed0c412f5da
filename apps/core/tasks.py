from celery import shared_task

from apps.core.idempotency import purge_expired


@shared_task(name="apps.core.tasks.purge_idempotency_records")
def purge_idempotency_records() -> int:
    return purge_expired()
