from celery import shared_task

from apps.disbursements.services import disbursement_flag_unconfirmed


@shared_task(name="apps.disbursements.tasks.flag_unconfirmed_tranches", acks_late=True)
def flag_unconfirmed_tranches() -> int:
    return disbursement_flag_unconfirmed()
