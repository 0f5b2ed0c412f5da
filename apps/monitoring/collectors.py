"""The domain's figures, read from the database (and the broker) when /metrics is scraped.

Each part is a few indexed, bounded queries; a part that fails (the broker down, a query
refused) is left out of that scrape and reported as ``aidmatch_scrape_errors{part}``, so a
scrape never fails because one source is down. Labels are bounded and public: a run's mode, a
queue's name, a delivery's status, a list's source; never an organization or a person.
"""

import logging
import time

from django.conf import settings
from django.db.models import Count, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

# An outbox count above this is reported as this (the count stays cheap however long the
# backlog; the age of the oldest event says how late it is).
OUTBOX_COUNT_CAP = 100_000


def _seconds(moment) -> float:
    return moment.timestamp() if moment is not None else 0.0


def matching():
    from apps.matching.models import MatchRun

    duration = GaugeMetricFamily(
        "aidmatch_matching_last_run_duration_seconds",
        "Run time of the latest succeeded matching run, by mode (full, incremental).",
        labels=["mode"],
    )
    changed = GaugeMetricFamily(
        "aidmatch_matching_last_run_proposals_changed",
        "Proposals created, resized or released by the latest succeeded matching run, by mode.",
        labels=["mode"],
    )
    finished = GaugeMetricFamily(
        "aidmatch_matching_last_run_finished_timestamp_seconds",
        "When the latest succeeded matching run finished (Unix time), by mode.",
        labels=["mode"],
    )
    for mode in MatchRun.Mode.values:
        run = (
            MatchRun.objects.filter(status=MatchRun.Status.SUCCEEDED, mode=mode)
            .order_by("-created_at")
            .only("started_at", "finished_at", "created", "resized", "released")
            .first()
        )
        if run is None or run.started_at is None or run.finished_at is None:
            continue
        duration.add_metric([mode], (run.finished_at - run.started_at).total_seconds())
        changed.add_metric([mode], run.created + run.resized + run.released)
        finished.add_metric([mode], _seconds(run.finished_at))
    waiting = GaugeMetricFamily(
        "aidmatch_matching_runs",
        "Matching runs queued or running now, by status.",
        labels=["status"],
    )
    counts = dict(
        MatchRun.objects.filter(status__in=[MatchRun.Status.QUEUED, MatchRun.Status.RUNNING])
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for status in (MatchRun.Status.QUEUED, MatchRun.Status.RUNNING):
        waiting.add_metric([status.value], counts.get(status.value, 0))
    return [duration, changed, finished, waiting]


def queue_names() -> tuple[str, ...]:
    return tuple(getattr(settings, "CELERY_QUEUE_NAMES", (settings.CELERY_TASK_DEFAULT_QUEUE,)))


def queues():
    """Messages waiting in each queue (not yet taken by a worker), and whether the broker
    answered. With tasks run in-process (the embedded mode) there is no queue to report."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return []
    from kombu.exceptions import ChannelError

    from config.celery_app import app as celery_app

    up = GaugeMetricFamily(
        "aidmatch_celery_broker_up", "1 when the broker answered this scrape, else 0."
    )
    depth = GaugeMetricFamily(
        "aidmatch_celery_queue_messages",
        "Messages waiting in a Celery queue (ready, not taken by a worker), by queue.",
        labels=["queue"],
    )
    timeout = settings.HEALTH_BROKER_TIMEOUT
    try:
        with celery_app.connection_for_read(connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=0, timeout=timeout)
            for name in queue_names():
                with conn.channel() as channel:
                    try:
                        found = channel.queue_declare(queue=name, passive=True)
                    except ChannelError:  # never declared (nothing sent yet): empty
                        depth.add_metric([name], 0)
                        continue
                depth.add_metric([name], found.message_count)
    except Exception as exc:
        log.warning("queue depths not read: the broker did not answer (%s)", type(exc).__name__)
        up.add_metric([], 0)
        return [up]
    up.add_metric([], 1)
    return [up, depth]


def outbox():
    from apps.events.models import Event

    waiting = Event.objects.filter(position__isnull=True)  # the event_unpublished index
    # A row holding a batch of a matching run's proposals stands for one event per proposal.
    waiting_rows = waiting[:OUTBOX_COUNT_CAP].aggregate(events=Sum("batch_size"))
    count = min(waiting_rows["events"] or 0, OUTBOX_COUNT_CAP)
    oldest = waiting.order_by("id").values_list("occurred_at", flat=True).first()
    age = max(0.0, (timezone.now() - oldest).total_seconds()) if oldest is not None else 0.0
    return [
        GaugeMetricFamily(
            "aidmatch_outbox_unrelayed_events",
            f"Committed events not yet relayed (given a position); at most {OUTBOX_COUNT_CAP}.",
            value=count,
        ),
        GaugeMetricFamily(
            "aidmatch_outbox_oldest_unrelayed_age_seconds",
            "Age of the oldest committed event not yet relayed (0 when none waits).",
            value=age,
        ),
    ]


def webhooks():
    from apps.webhooks.models import Delivery, DeliveryStatus, WebhookEndpoint

    deliveries = GaugeMetricFamily(
        "aidmatch_webhook_deliveries",
        "Webhook deliveries by status: pending (waiting for an attempt), sending (claimed), "
        "failed (every attempt failed; kept WEBHOOKS_LOG_DAYS).",
        labels=["status"],
    )
    for status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.FAILED):
        deliveries.add_metric([status.value], Delivery.objects.filter(status=status).count())
    retrying = GaugeMetricFamily(
        "aidmatch_webhook_deliveries_retrying",
        "Pending webhook deliveries whose earlier attempts failed (waiting to retry).",
        value=Delivery.objects.filter(status=DeliveryStatus.PENDING, attempts__gt=0).count(),
    )
    disabled = GaugeMetricFamily(
        "aidmatch_webhook_endpoints_disabled",
        "Webhook endpoints disabled (by their owner, or after failing for too long).",
        value=WebhookEndpoint.objects.filter(enabled=False).count(),
    )
    return [deliveries, retrying, disabled]


def screening():
    from apps.screening.models import ScreeningHit

    hits = GaugeMetricFamily(
        "aidmatch_screening_open_hits",
        "Sanctions screening hits waiting for a verifier's decision, by list source.",
        labels=["source"],
    )
    rows = (
        ScreeningHit.objects.filter(resolution=ScreeningHit.Resolution.OPEN)
        .values_list("source")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for source, n in rows:
        hits.add_metric([source], n)
    return [hits]


def reconcile():
    from apps.ledger.selectors import last_reconcile_run

    run = last_reconcile_run()
    if run is None:
        return []
    return [
        GaugeMetricFamily(
            "aidmatch_ledger_reconcile_ok",
            "1 when the latest ledger reconcile found no difference, else 0.",
            value=1 if run.ok else 0,
        ),
        GaugeMetricFamily(
            "aidmatch_ledger_reconcile_differences",
            "Differences the latest ledger reconcile found.",
            value=len(run.differences),
        ),
        GaugeMetricFamily(
            "aidmatch_ledger_reconcile_last_timestamp_seconds",
            "When the latest ledger reconcile finished (Unix time).",
            value=_seconds(run.finished_at),
        ),
    ]


PARTS = {
    "matching": matching,
    "queues": queues,
    "outbox": outbox,
    "webhooks": webhooks,
    "screening": screening,
    "reconcile": reconcile,
}


class DomainCollector:
    def collect(self):
        errors = GaugeMetricFamily(
            "aidmatch_scrape_errors",
            "1 when a part of the domain's figures could not be read in this scrape, by part.",
            labels=["part"],
        )
        took = GaugeMetricFamily(
            "aidmatch_scrape_duration_seconds",
            "How long reading the domain's figures took in this scrape.",
        )
        started = time.perf_counter()
        for name, part in PARTS.items():
            try:
                yield from part()
            except Exception:
                log.warning("metrics part %s failed", name, exc_info=True)
                errors.add_metric([name], 1)
            else:
                errors.add_metric([name], 0)
        took.add_metric([], time.perf_counter() - started)
        yield errors
        yield took
