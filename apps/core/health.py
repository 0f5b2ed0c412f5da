"""Health of the parts the service needs: database, broker, workers."""

from django.conf import settings
from django.db import connection

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
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=settings.HEALTH_WORKER_TIMEOUT)
    except Exception as exc:
        return {"status": "down", "error": type(exc).__name__}
    return {"status": "up", "transport": celery_app.conf.broker_url.split("://", 1)[0]}


def check_workers(broker: dict) -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"status": "up", "mode": "in-process", "count": 0}
    if broker["status"] != "up":
        return {"status": "down", "error": "broker unreachable"}
    try:
        replies = celery_app.control.ping(timeout=settings.HEALTH_WORKER_TIMEOUT)
    except Exception as exc:
        return {"status": "down", "error": type(exc).__name__}
    if not replies:
        return {"status": "down", "error": "no worker answered", "count": 0}
    return {"status": "up", "count": len(replies)}


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
