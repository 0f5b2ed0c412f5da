"""Webhook deliveries from the outbox to a receiver on loopback, with one Celery worker.

    .venv/bin/python bench/webhooks.py [--quick] [--burst 2000] [--rate 50] [--seconds 30]
        [--redis redis://127.0.0.1:6379/12]
        [--database postgres://postgres@127.0.0.1:5432/aidmatch_bench_webhooks]

One Celery worker (``--pool=solo``: one process, one delivery at a time, and its housekeeping
thread relaying the outbox and dispatching), one enabled endpoint (a donor's) on a receiver
thread in this process that answers 200 and records when each ``webhook-id`` arrived.

1. Throughput: ``--burst`` events are committed at once (one transaction each, as fast as this
   process can), and the deliveries per second from the first commit to the last arrival.
2. Latency: events committed at ``--rate`` per second for ``--seconds``, each in its own
   transaction; for each, the time from its commit to its arrival at the receiver (p50, p90,
   p99, max). Target: p99 under 2 s.

Prints the load average. Progress on stderr, the figures on stdout; asserts nothing about time.
The database named is DROPPED and created anew; the Redis database named is FLUSHED.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.matching_e2e import load, recreate_database, say  # noqa: E402
from bench.matching_latency import percentile  # noqa: E402

TARGET_P99_S = 2.0


class Arrivals:
    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.duplicates = 0
        self.lock = threading.Lock()

    def serve(self) -> ThreadingHTTPServer:
        arrivals = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                now = time.time()
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                msg_id = self.headers.get("webhook-id", "")
                with arrivals.lock:
                    if msg_id in arrivals.at:
                        arrivals.duplicates += 1
                    else:
                        arrivals.at[msg_id] = now
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def count(self, ids) -> int:
        with self.lock:
            return sum(1 for i in ids if i in self.at)


def wait_all(arrivals: Arrivals, ids: list[str], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if arrivals.count(ids) == len(ids):
            return True
        time.sleep(0.02)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller burst, a shorter run")
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/aidmatch_bench_webhooks"
    )
    args = parser.parse_args()
    if args.quick:
        args.burst, args.seconds = min(args.burst, 300), min(args.seconds, 8.0)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env.update(
        DATABASE_URL=args.database,
        REDIS_URL=args.redis,
        CELERY_BROKER_URL=args.redis,
        CELERY_TASK_ALWAYS_EAGER="false",
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DJANGO_DEBUG="false",
        DATABASE_CONN_MAX_AGE="60",
        LOG_LEVEL="WARNING",
        WEBHOOKS_ALLOW_PRIVATE_ADDRESSES="true",
        WEBHOOKS_ALLOW_HTTP="true",
        PYTHONUNBUFFERED="1",
    )
    say(f"database {urlparse(args.database).path.lstrip('/')} anew, Redis flushed")
    recreate_database(args.database)
    parsed = urlparse(args.redis)
    subprocess.run(
        [
            "redis-cli",
            "-h",
            parsed.hostname or "127.0.0.1",
            "-p",
            str(parsed.port or 6379),
            "-n",
            parsed.path.lstrip("/") or "0",
            "flushdb",
        ],
        check=True,
        capture_output=True,
    )
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)

    import django

    django.setup()
    from django.conf import settings
    from django.db import transaction

    from aidmatch.events import Audience, EventType
    from apps.accounts.models import User
    from apps.events.services import record_event
    from apps.webhooks import services
    from apps.webhooks.models import OwnerKind

    arrivals = Arrivals()
    server = arrivals.serve()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    donor = User.objects.create_user(f"bench-{uuid.uuid4().hex[:8]}@example.org", "x")
    services.endpoint_create(owner_kind=OwnerKind.DONOR, user=donor, url=url)

    def commit_one(n: int) -> tuple[str, float]:
        with transaction.atomic():
            event = record_event(
                EventType.PLEDGE_REDUCED,
                resource_id=f"bench-{n % 100}",
                payloads={Audience.DONOR: {"id": f"bench-{n % 100}", "amount": "10.00", "n": n}},
                donor_id=donor.pk,
            )
        return event.public_id, time.time()

    log_path = Path(tempfile.gettempdir()) / f"bench-webhooks-worker-{os.getpid()}.log"
    worker = subprocess.Popen(
        [py, "-m", "celery", "-A", "config.celery_app", "worker", "--pool=solo",
         "--loglevel=WARNING", "--without-mingle", "--without-gossip",
         "-Q", ",".join(settings.CELERY_QUEUE_NAMES),
         "-n", f"bench-webhooks-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=open(log_path, "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
        start_new_session=True,
    )  # fmt: skip
    try:
        warm = [commit_one(-1)[0]]
        if not wait_all(arrivals, warm, 60):
            raise SystemExit(f"the worker delivered nothing; see {log_path}")

        say(f"throughput: {args.burst} events committed at once")
        started = time.time()
        burst = [commit_one(n)[0] for n in range(args.burst)]
        committed = time.time() - started
        if not wait_all(arrivals, burst, 600):
            raise SystemExit(f"not every event arrived; see {log_path}")
        last = max(arrivals.at[i] for i in burst)
        rate = args.burst / (last - started)

        say(f"latency: {args.rate:g} events/s for {args.seconds:g} s")
        commits: dict[str, float] = {}
        interval = 1.0 / args.rate
        begin = time.monotonic()
        n = 0
        while time.monotonic() - begin < args.seconds:
            msg_id, at = commit_one(args.burst + n)
            commits[msg_id] = at
            n += 1
            pause = begin + n * interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        if not wait_all(arrivals, list(commits), 120):
            raise SystemExit(f"not every event arrived; see {log_path}")
        latencies = [arrivals.at[i] - at for i, at in commits.items()]
        achieved = n / (time.monotonic() - begin)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
        server.shutdown()

    p99 = percentile(latencies, 0.99)
    print(f"bench/webhooks.py  one worker (solo pool), receiver on loopback  {load()}")
    print(
        f"throughput  {args.burst} events committed in {committed:.2f} s, all delivered "
        f"{last - started:.2f} s after the first commit: {rate:.0f} deliveries/s"
    )
    print(
        f"latency     {n} events at {achieved:.1f}/s (asked {args.rate:g}/s), commit → arrival: "
        f"p50 {percentile(latencies, 0.5) * 1000:.0f} ms  "
        f"p90 {percentile(latencies, 0.9) * 1000:.0f} ms  "
        f"p99 {p99 * 1000:.0f} ms  max {max(latencies) * 1000:.0f} ms  "
        f"(target p99 < {TARGET_P99_S:g} s: {'met' if p99 < TARGET_P99_S else 'MISSED'})"
    )
    print(f"duplicates  {arrivals.duplicates} (ids that arrived twice)")


if __name__ == "__main__":
    main()
