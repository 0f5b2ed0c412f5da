from celery import shared_task

from apps.ledger.reconcile import reconcile_and_record


@shared_task(name="apps.ledger.tasks.reconcile_ledger", acks_late=True)
def reconcile_ledger() -> bool:
    """Hourly: reconcile the ledger, record the run (``/healthz`` reads the last one), log an
    error on any difference. Read-only apart from its record, so safe to run twice."""
    return reconcile_and_record().ok
