"""Prometheus metrics counted in the process that does the work (apps.monitoring reads the rest
from the database when /metrics is scraped).

Counters and histograms live in this process's default registry. Under gunicorn (several
processes) and in a prefork Celery worker, set PROMETHEUS_MULTIPROC_DIR to an empty directory
of the process group's own before it starts: each process then writes its values there and a
scrape adds them up (``process_registry``).
"""

import os
import time

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess

IDEMPOTENT_REPLAYS = Counter(
    "aidmatch_idempotent_replays",
    "Requests answered by replaying the stored response of an earlier one (Idempotency-Key).",
)
TRANSACTION_RETRIES = Counter(
    "aidmatch_transaction_retries",
    "Transactions run again after PostgreSQL rolled them back to break a deadlock (40P01) or a "
    "serialization conflict (40001), by SQLSTATE.",
    ["code"],
)
TASKS = Counter(
    "aidmatch_celery_tasks",
    "Celery tasks finished, by task name and final state (SUCCESS, FAILURE, RETRY, ...).",
    ["task", "state"],
)
TASK_DURATION = Histogram(
    "aidmatch_celery_task_duration_seconds",
    "Run time of Celery tasks, by task name.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
)


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def process_registry() -> CollectorRegistry:
    """What this process (or, in multiprocess mode, its whole process group) has counted."""
    if not multiprocess_mode():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


_started: dict = {}


def _task_started(task_id=None, **kwargs) -> None:
    _started[task_id] = time.perf_counter()


def _task_finished(task_id=None, task=None, state=None, **kwargs) -> None:
    began = _started.pop(task_id, None)
    name = getattr(task, "name", None) or "unknown"
    TASKS.labels(task=name, state=state or "UNKNOWN").inc()
    if began is not None:
        TASK_DURATION.labels(task=name).observe(time.perf_counter() - began)


def connect_celery_signals() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(_task_started, weak=False, dispatch_uid="metrics_task_started")
    task_postrun.connect(_task_finished, weak=False, dispatch_uid="metrics_task_finished")


def serve_worker_metrics(port: int, addr: str = "") -> None:
    """A worker's own /metrics on ``port`` (its tasks' counts and durations)."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=addr, registry=process_registry())
