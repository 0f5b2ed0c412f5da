"""How long /healthz takes: the database check, the broker check (a connection with a short
timeout) and the workers' heartbeats read from the database; nothing waits for a worker to
answer a ping. Also the JSON depth guard on a hostile body (apps/core/parsers.py).

    .venv/bin/python bench/health.py [--calls 200]
        [--database postgres://postgres@127.0.0.1:5432/aidmatch_bench_health]
        [--redis redis://127.0.0.1:6379/14]

The database named is DROPPED and created anew. Three cases: the broker up with a fresh
heartbeat, the broker up with no worker (503), the broker at a closed port (503). Prints
median, 95th percentile and maximum in milliseconds; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def say(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def recreate_database(url: str) -> None:
    import psycopg2

    name = urlparse(url).path.lstrip("/")
    admin = psycopg2.connect(url.replace(f"/{name}", "/postgres"))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def timed(client, path: str, calls: int, **headers) -> tuple[list[float], int]:
    times, status = [], 0
    for _ in range(calls):
        started = time.perf_counter()
        response = client.get(path, **headers)
        times.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    return times, status


def row(name: str, times: list[float], status: int) -> str:
    ordered = sorted(times)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"{name:<44} {status:>6} {statistics.median(ordered):>9.2f} {p95:>9.2f} {ordered[-1]:>9.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/aidmatch_bench_health"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    say(f"recreating {args.database}")
    recreate_database(args.database)
    os.environ["DATABASE_URL"] = args.database
    os.environ["REDIS_URL"] = args.redis
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost"

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone

    from apps.core.models import WorkerHeartbeat
    from config.celery_app import app as celery_app

    logging.getLogger("django.request").setLevel(logging.CRITICAL)  # 503s are the point here
    say("migrating")
    call_command("migrate", verbosity=0)
    client = Client()
    client.get("/healthz")  # imports and connections, not measured

    queues = sorted(settings.HEALTH_REQUIRED_QUEUES)
    print(
        f"{'case (' + str(args.calls) + ' calls)':<44} {'status':>6} {'median':>9} "
        f"{'p95':>9} {'max ms':>9}"
    )
    WorkerHeartbeat.objects.all().delete()
    now = timezone.now()
    WorkerHeartbeat.objects.create(
        hostname="bench@localhost", queues=queues, pid=os.getpid(), started_at=now, last_seen=now
    )
    print(row("/healthz, broker up, fresh heartbeat", *timed(client, "/healthz", args.calls)))
    WorkerHeartbeat.objects.all().delete()
    print(row("/healthz, broker up, no worker", *timed(client, "/healthz", args.calls)))

    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    celery_app._pool = None
    print(row("/healthz, broker at a closed port", *timed(client, "/healthz", args.calls)))

    deep = ("[" * 100_000 + "]" * 100_000).encode()
    times, status = [], 0
    for _ in range(max(1, args.calls // 10)):
        started = time.perf_counter()
        response = client.post("/api/v1/auth/token", deep, content_type="application/json")
        times.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    print(row("POST 200 KB body nested 100,000 deep", times, status))


if __name__ == "__main__":
    main()
