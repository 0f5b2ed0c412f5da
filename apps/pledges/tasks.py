from celery import shared_task

from apps.pledges.services import pledge_expire_due


@shared_task(name="apps.pledges.tasks.expire_due_pledges", acks_late=True)
def expire_due_pledges() -> int:
    return pledge_expire_due()
