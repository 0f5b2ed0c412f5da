"""The Celery app: settings come from Django's settings under the CELERY_ namespace.

Every worker runs a housekeeping thread (``worker_ready``): it writes the worker's heartbeat for
the queues it consumes every HEALTH_HEARTBEAT_SECONDS (read by /healthz), and every
MATCHING_SWEEP_SECONDS, from its start on, retries the matching runs whose worker died or whose
message was lost (beat's sweep does the same, so recovery needs neither beat nor a restart);
every EVENTS_RELAY_SECONDS it relays the outbox's committed events (``apps.events.relay``), and
every WEBHOOKS_DISPATCH_SECONDS it sends the webhook deliveries that are due (``apps.webhooks``).

Workers log through Django's LOGGING (apps.core.logs: JSON lines carrying the request id of the
request that enqueued the task, and the task's name and id), and count their tasks
(apps.core.metrics); with WORKER_METRICS_PORT set, a worker serves those counts on that port.
"""

import logging
import os

from celery import Celery, signals

from apps.core import logs, metrics

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("aidmatch")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Connected on import, so both the web processes (which publish) and the workers (which set up
# logging before Django's apps are ready) have them.
logs.connect_celery_signals()
metrics.connect_celery_signals()

_keeper = None  # this worker's housekeeping thread


@signals.worker_ready.connect
def _start_housekeeping(sender, **kwargs) -> None:
    global _keeper
    from django.conf import settings
    from django.utils import timezone

    from apps.core.workers import Housekeeper, heartbeat_record
    from apps.events.relay import relay_pending
    from apps.matching.tasks import recover_matching_runs
    from apps.webhooks.services import dispatch_due

    hostname = sender.hostname
    queues = list(sender.app.amqp.queues.consume_from)
    started_at = timezone.now()
    _keeper = Housekeeper(
        [
            (
                "heartbeat",
                settings.HEALTH_HEARTBEAT_SECONDS,
                lambda: heartbeat_record(hostname=hostname, queues=queues, started_at=started_at),
            ),
            ("recover matching runs", settings.MATCHING_SWEEP_SECONDS, recover_matching_runs),
            ("relay events", settings.EVENTS_RELAY_SECONDS, relay_pending),
            ("dispatch webhooks", settings.WEBHOOKS_DISPATCH_SECONDS, dispatch_due),
        ]
    )
    _keeper.start()
    if settings.WORKER_METRICS_PORT:
        metrics.serve_worker_metrics(settings.WORKER_METRICS_PORT, settings.WORKER_METRICS_ADDRESS)
        logging.getLogger(__name__).info(
            "serving this worker's metrics on port %s", settings.WORKER_METRICS_PORT
        )


@signals.worker_shutdown.connect
def _stop_housekeeping(sender, **kwargs) -> None:
    global _keeper
    if _keeper is None:
        return
    _keeper.stop()
    _keeper = None
    from apps.core.workers import heartbeat_remove

    try:  # a stopped worker is down at once; a killed one when its heartbeat goes stale
        heartbeat_remove(hostname=sender.hostname)
    except Exception:
        logging.getLogger(__name__).warning("could not remove this worker's heartbeat")
