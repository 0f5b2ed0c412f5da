"""Health of the parts the service needs: database, broker, workers (their heartbeats in this
deployment's database: nothing waits for a worker to answer), and the ledger's last reconcile."""

from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery_app import app as celery_app


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "down"; the reason is reported
        return {"status": "down", "error": type(exc).__name__}
    return {"status": "up", "vendor": connection.vendor}


def check_broker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": "up", "mode": "in-process"}
    timeout = settings.HEALTH_BROKER_TIMEOUT
    try:
        with celery_app.connection_for_write(connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=0, timeout=timeout)
    except Exception as exc:
        return {"status": "down", "error": type(exc).__name__}
    return {"status": "up", "transport": celery_app.conf.broker_url.split("://", 1)[0]}


def check_workers(broker: dict) -> dict:
    """Up when, for each queue in HEALTH_REQUIRED_QUEUES, a worker's heartbeat in this
    deployment's database is younger than HEALTH_WORKER_STALE_SECONDS (apps/core/workers.py)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": "up", "mode": "in-process", "count": 0}
    if broker["status"] != "up":
        return {"status": "down", "error": "broker unreachable"}
    from apps.core.models import WorkerHeartbeat

    since = timezone.now() - timedelta(seconds=settings.HEALTH_WORKER_STALE_SECONDS)
    try:
        beats = list(WorkerHeartbeat.objects.filter(last_seen__gte=since).values_list("queues"))
    except Exception as exc:
        return {"status": "down", "error": type(exc).__name__}
    served = {queue for (queues,) in beats for queue in queues}
    missing = [q for q in settings.HEALTH_REQUIRED_QUEUES if q not in served]
    if missing:
        return {
            "status": "down",
            "error": "no live worker heartbeat for queue(s) " + ", ".join(missing),
            "count": len(beats),
        }
    return {"status": "up", "count": len(beats)}


def check_ledger(database: dict) -> dict:
    """Ledger (apps/ledger): "degraded" when the last recorded reconcile found differences.
    The service still answers, so this is not a reason for 503."""
    if database["status"] != "up":
        return {"status": "unknown", "error": "database unreachable"}
    from apps.ledger.selectors import last_reconcile_run

    try:
        run = last_reconcile_run()
    except Exception as exc:
        return {"status": "unknown", "error": type(exc).__name__}
    if run is None:
        return {"status": "unknown", "detail": "no reconcile recorded yet"}
    return {
        "status": "up" if run.ok else "degraded",
        "last_reconcile": run.finished_at.isoformat(),
        "differences": len(run.differences),
    }


def health_report() -> tuple[bool, dict]:
    database = check_database()
    broker = check_broker()
    workers = check_workers(broker)
    checks = {"database": database, "broker": broker, "workers": workers}
    healthy = all(c["status"] == "up" for c in checks.values())
    checks["ledger"] = check_ledger(database)  # ledger: degrades, never makes it unavailable
    status = "ok" if healthy else "unavailable"
    if healthy and checks["ledger"]["status"] == "degraded":
        status = "degraded"
    return healthy, {"status": status, "checks": checks}
