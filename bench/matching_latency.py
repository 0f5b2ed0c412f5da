"""A new pledge → its proposal visible through the API, with a big world and a full run in
progress: real HTTP (gunicorn), a real Celery worker, PostgreSQL and Redis.

    .venv/bin/python bench/matching_latency.py [--quick] [--needs 100000] [--pledges 20000]
        [--posts 200] [--seed 7] [--port 8766] [--redis redis://127.0.0.1:6379/15]
        [--database postgres://postgres@127.0.0.1:5432/aidmatch_bench_latency]

A seeded world (``bench.worlds``) is written as rows and matched by a full run in this process;
then gunicorn (2 workers) and a Celery worker (prefork, 2 processes: a full run occupies one,
new pledges go through the other) start, another full run is started and awaited, and
``--posts`` pledges are posted one after the other (a third unrestricted, a third earmarked to
a sector, a third to a province). For each, the time from the POST's response to the first
``GET /api/v1/allocations/?pledge=…`` that lists a proposal (polled every 10 ms). Every POST
also schedules a debounced full run, so full runs keep coming. Prints p50/p90/p99/max, how many
took over 1 s, how many were posted while a full run was running, what the incremental runs
read, and the load average. Progress on stderr, the table on stdout; asserts nothing about time.

The database named is DROPPED and created anew; the Redis database named is FLUSHED.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.matching_e2e import populate, recreate_database, say  # noqa: E402

TARGET_P99_S = 1.0


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def server_env(args) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env.update(
        DATABASE_URL=args.database,
        REDIS_URL=args.redis,
        CELERY_BROKER_URL=args.redis,
        CELERY_TASK_ALWAYS_EAGER="false",
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DJANGO_DEBUG="false",
        DATABASE_CONN_MAX_AGE="60",
        THROTTLE_RATE_CALLER="1000000/min",
        THROTTLE_RATE_AUTH="1000000/min",
        LOG_LEVEL="WARNING",
        MATCHING_TRIGGER_ON_CHANGE="true",
        PYTHONUNBUFFERED="1",
    )
    return env


def start(cmd: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "ab")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


class Api:
    """One keep-alive HTTP connection with a bearer token."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
                return response.status, (json.loads(raw) if raw else {})
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt:
                    raise
        raise AssertionError("unreachable")


def wait_until(predicate, timeout: float, what: str, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise RuntimeError(f"{what}: not within {timeout:.0f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k needs, 2k pledges, 60 posts")
    parser.add_argument("--needs", type=int, default=100_000, help="open needs in the world")
    parser.add_argument("--pledges", type=int, default=20_000, help="pledges in the world")
    parser.add_argument("--posts", type=int, default=200, help="new pledges posted and timed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/aidmatch_bench_latency"
    )
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"))
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait per pledge")
    args = parser.parse_args()
    if args.quick:
        args.needs, args.pledges, args.posts = 10_000, 2_000, 60

    say(load())
    say(f"recreating {urlparse(args.database).path.lstrip('/')}, flushing {args.redis}")
    recreate_database(args.database)
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    os.environ.update(
        DATABASE_URL=args.database,
        REDIS_URL=args.redis,
        CELERY_BROKER_URL=args.redis,
        CELERY_TASK_ALWAYS_EAGER="false",
        MATCHING_TRIGGER_ON_CHANGE="false",  # the world is written without triggers
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from apps.accounts.services import token_create
    from apps.matching.models import MatchRun
    from apps.matching.services.runs import match_run_execute, match_run_request
    from apps.matching.tasks import send_run
    from apps.needs.models import Need
    from apps.reference.models import Province, Sector
    from bench.worlds import make_world

    say("migrating")
    call_command("migrate", verbosity=0)
    say(f"generating and writing {args.pledges:,} pledges × {args.needs:,} needs")
    started = time.perf_counter()
    rows = populate(make_world(args.pledges, args.needs, args.seed), timezone.now().date())
    say(f"rows written in {time.perf_counter() - started:.1f}s; {load()}")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what autovacuum does after a bulk load
    say("a first full run in this process (the world as it stands before the new pledges)")
    started = time.perf_counter()
    initial = match_run_execute(trigger="manual", reason="latency bench: the world matched")
    initial_s = time.perf_counter() - started
    say(f"first full run: {initial.created:,} proposals in {initial_s:.1f}s; {load()}")
    open_needs = Need.objects.filter(status__in=["open", "partially_funded"]).count()
    _, token = token_create(user=rows["donor"])
    sectors = sorted(set(Need.objects.values_list("sector_id", flat=True).distinct()))
    provinces = sorted(set(Need.objects.values_list("province_id", flat=True).distinct()))
    assert set(sectors) <= set(Sector.objects.values_list("code", flat=True))
    assert set(provinces) <= set(Province.objects.values_list("pcode", flat=True))

    logs = Path(tempfile.mkdtemp(prefix="aidmatch_latency_"))
    env = server_env(args)
    python = sys.executable
    worker = start(
        [
            python,
            "-m",
            "celery",
            "-A",
            "config.celery_app",
            "worker",
            "--pool=prefork",
            "--concurrency=2",
            "-O",
            "fair",
            "--loglevel=WARNING",
            "--without-mingle",
            "--without-gossip",
            "-Q",
            ",".join(settings.CELERY_QUEUE_NAMES),  # every queue
            "-n",
            f"bench-latency-{os.getpid()}@%h",
        ],
        env,
        logs / "worker.log",
    )
    web = start(
        [
            python,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--workers=2",
            f"--bind=127.0.0.1:{args.port}",
            "--log-level=warning",
        ],
        env,
        logs / "gunicorn.log",
    )
    latencies: list[float] = []
    during_full, missing = 0, 0
    try:
        api = Api(args.port, token)

        def up():
            try:
                return api.call("GET", "/livez")[0] == 200
            except OSError:
                return False

        wait_until(up, 60, "gunicorn up")
        from config.celery_app import app as celery_app

        wait_until(lambda: celery_app.control.ping(timeout=0.5), 60, "worker up")
        say(f"servers up (logs in {logs}); starting a full run; {load()}")
        first = match_run_request(trigger="manual", reason="latency bench: the run in progress")
        send_run(first)
        wait_until(
            lambda: MatchRun.objects.filter(pk=first.pk, status="running").exists(),
            60,
            "the full run running",
        )
        rng = random.Random(args.seed)
        load_before = os.getloadavg()
        for i in range(args.posts):
            body = {"amount": f"{rng.randint(50, 2000)}.00", "currency": "USD"}
            if i % 3 == 1:
                body["earmark_sectors"] = [rng.choice(sectors)]
            elif i % 3 == 2:
                body["earmark_provinces"] = [rng.choice(provinces)]
            full_running = MatchRun.objects.filter(mode="full", status="running").exists()
            status, created = api.call(
                "POST", "/api/v1/pledges/", body, {"Idempotency-Key": str(uuid.uuid4())}
            )
            posted = time.perf_counter()
            if status != 201:
                raise RuntimeError(f"POST /pledges/ answered {status}: {created}")
            path = f"/api/v1/allocations/?pledge={created['id']}"
            while True:
                status, listed = api.call("GET", path)
                seen = time.perf_counter() - posted
                if status == 200 and listed.get("results"):
                    latencies.append(seen)
                    during_full += full_running
                    break
                if seen > args.timeout:
                    missing += 1
                    break
                time.sleep(0.01)
            if (i + 1) % 20 == 0:
                say(
                    f"{i + 1}/{args.posts} posted; p99 so far "
                    f"{percentile(latencies, 0.99) if latencies else float('nan'):.3f}s; {load()}"
                )
        load_after = os.getloadavg()
    finally:
        stop(web)
        stop(worker)

    runs = MatchRun.objects.filter(mode="incremental", status="succeeded")
    stats = [r.stats for r in runs]
    full_runs = MatchRun.objects.filter(mode="full").exclude(status="queued")
    print(
        f"\nNew pledge → proposal visible through the API: {args.posts} pledges posted one after "
        f"the other, {open_needs:,} open needs, {args.pledges:,} pledges in the world "
        f"(seed {args.seed}); gunicorn 2 workers, Celery prefork 2; the world matched first "
        f"({initial.created:,} proposals, {initial_s:.1f}s)"
    )
    print(f"{'figure':<44}{'value':>12}")
    if latencies:
        for label, value in (
            ("p50 s", statistics.median(latencies)),
            ("p90 s", percentile(latencies, 0.90)),
            ("p99 s", percentile(latencies, 0.99)),
            ("max s", max(latencies)),
        ):
            print(f"{label:<44}{value:>12.3f}")
    print(f"{'over 1 s':<44}{sum(1 for x in latencies if x > 1):>12}")
    print(f"{f'no proposal within {args.timeout:.0f} s':<44}{missing:>12}")
    print(f"{'posted while a full run was running':<44}{during_full:>12}")
    print(
        f"{'full runs started (finished)':<44}{full_runs.count():>7} "
        f"({full_runs.filter(status='succeeded').count()})"
    )
    if stats:
        print(
            f"{'incremental runs: needs read, mean (max)':<44}"
            f"{statistics.mean(r.needs_seen for r in runs):>7.0f} "
            f"({max(r.needs_seen for r in runs)})"
        )
        for key in ("seconds_load", "seconds_solve", "seconds_write"):
            values = [s.get(key, 0) for s in stats]
            print(
                f"{'incremental runs: ' + key + ' mean (max)':<44}"
                f"{statistics.mean(values):>7.4f} ({max(values):.4f})"
            )
        print(
            f"{'incremental runs: needs passed over (busy)':<44}"
            f"{sum(s.get('needs_busy', 0) for s in stats):>12}"
        )
    print(
        "load average during the posts: "
        + " ".join(f"{x:.2f}" for x in load_before)
        + " → "
        + " ".join(f"{x:.2f}" for x in load_after)
    )
    print(
        f"target: p99 under {TARGET_P99_S:.0f} s with 100,000 open needs and a full run in progress"
    )


if __name__ == "__main__":
    main()
