from celery import shared_task

from apps.needs.services import need_expire_overdue


@shared_task(name="apps.needs.tasks.expire_overdue_needs", acks_late=True)
def expire_overdue_needs() -> int:
    return need_expire_overdue()
