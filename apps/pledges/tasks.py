from celery import shared_task

from apps.pledges.schedules import schedules_make_due
from apps.pledges.services import pledge_expire_due


@shared_task(name="apps.pledges.tasks.expire_due_pledges", acks_late=True)
def expire_due_pledges() -> int:
    return pledge_expire_due()


@shared_task(name="apps.pledges.tasks.make_due_scheduled_pledges", acks_late=True)
def make_due_scheduled_pledges() -> int:
    """The recurring pledges' occurrences that are due (idempotent: one pledge per period)."""
    return schedules_make_due()
