from celery import shared_task

from apps.matching.services.allocations import allocation_release_overdue


@shared_task(name="apps.matching.tasks.release_overdue_proposals", acks_late=True)
def release_overdue_proposals() -> int:
    return allocation_release_overdue()
