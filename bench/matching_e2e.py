"""End to end through PostgreSQL: a seeded world written as real rows, then a matching run that
loads it, solves, and writes its proposals under row locks; then a re-run with nothing new
(it must change nothing) and the incremental path for one new pledge.

    .venv/bin/python bench/matching_e2e.py [--size 10000] [--seed 7] [--quick]
        [--database postgres://postgres@127.0.0.1:5432/aidmatch_bench]

The database named is DROPPED and created anew (default: aidmatch_bench on loopback). The world
is written by a child process, so the peak RSS printed is the runs' own (load, solve, write).
Rows get deterministic creation times (the world's order), so the same seed gives the same
rows: the digest printed names the proposals (world ids and amounts) and must repeat.
Progress on stderr, a table on stdout; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGETS = {10_000: (3.0, None), 100_000: (30.0, 1024)}  # size → (seconds end to end, MB)


def say(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def recreate_database(url: str) -> None:
    import psycopg2

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = psycopg2.connect(url.replace(f"/{name}", "/postgres"))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def populate(world, django_today) -> dict:
    """Rows for the world: verified organizations, open needs, pledges with their earmarks,
    and the world's exchange rates to USD. Dates are moved so that the world's 'today' is
    the real today."""
    from apps.accounts.models import User
    from apps.fx.models import ExchangeRate
    from apps.matching.services.bulk import bulk_insert
    from apps.needs.models import Need
    from apps.organizations.models import Organization
    from apps.pledges.models import Pledge
    from apps.reference.models import Sector
    from bench.worlds import SECTORS

    shift = django_today - world.today
    real_sectors = list(Sector.objects.order_by("code").values_list("code", flat=True))
    sector_of = dict(zip(SECTORS, real_sectors, strict=False))
    for code, rate in world.rates.items():
        if code != world.pool_currency:
            ExchangeRate.objects.create(
                base_id=code,
                quote_id=world.pool_currency,
                rate=rate,
                date=django_today,
                source="benchmark",
            )
    donor = User.objects.create_user(email="bench@example.org", password=uuid.uuid4().hex)
    orgs = {
        o: Organization(
            name=f"Bench organization {o}",
            kind="ngo",
            afghan_led=True,
            status="verified",
            pseudonym=f"Bench {o}",
        )
        for o in world.organizations
    }
    Organization.objects.bulk_create(orgs.values(), batch_size=2000)
    needs = {}
    for n in world.needs:
        needs[n.id] = Need(
            organization=orgs[n.organization],
            title=f"Need {n.id}",
            sector_id=sector_of[n.sector],
            province_id=n.province,
            amount=world.need_amount[n.id],
            currency_id=world.need_currency[n.id],
            urgency=n.urgency,
            deadline=n.deadline + shift,
            status="open",
        )
    insert_all(Need, list(needs.values()))
    pledges, sector_links, province_links = {}, [], []
    for p in world.pledges:
        amount = world.pledge_amount[p.id]
        pledges[p.id] = Pledge(
            donor=donor,
            amount=amount,
            original_amount=amount,
            currency_id=world.pledge_currency[p.id],
            earmark_organization=orgs[p.organization] if p.organization else None,
            earmark_need=needs[p.need] if p.need else None,
            expires_at=p.expires_at + shift if p.expires_at else None,
            public_message=f"bench {p.id}",
        )
        sector_links += [(p.id, sector_of[s]) for s in p.sectors]
        province_links += [(p.id, pr) for pr in p.provinces]
    insert_all(Pledge, list(pledges.values()))
    SectorLink = Pledge.earmark_sectors.through
    ProvinceLink = Pledge.earmark_provinces.through
    bulk_insert(
        SectorLink,
        {"pledge_id": "uuid", "sector_id": "text"},
        [(pledges[p].pk, s) for p, s in sector_links],
    )
    bulk_insert(
        ProvinceLink,
        {"pledge_id": "uuid", "province_id": "text"},
        [(pledges[p].pk, pr) for p, pr in province_links],
    )
    return {"pledges": pledges, "needs": needs, "donor": donor}


def insert_all(model, objs: list) -> None:
    """Insert model instances in one statement (Django's bulk_create takes minutes at 100k),
    with creation times one millisecond apart in the world's order: the same seed then gives
    the same order, where equal stamps would fall to random ids."""
    from django.db import connection

    from apps.matching.services.bulk import bulk_insert

    fields = [f for f in model._meta.concrete_fields if not f.generated]
    kinds = {}
    for f in fields:
        kind = f.db_type(connection=connection)
        kinds[f.column] = "timestamptz" if kind == "timestamp with time zone" else kind
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i, obj in enumerate(objs):
        obj.created_at = start + timedelta(milliseconds=i)
        row = []
        for f in fields:
            value = getattr(obj, f.attname) if f.name != "updated_at" else obj.created_at
            if isinstance(value, timedelta):
                value = f"{value.total_seconds()} seconds"
            row.append(value)
        rows.append(tuple(row))
    bulk_insert(model, kinds, rows)


def write_world(size: int, seed: int) -> None:
    """In a child process: generate the world and write it (its memory is not the runs')."""
    from django.db import connections, transaction
    from django.utils import timezone

    from bench.worlds import make_world

    started = time.perf_counter()
    world = make_world(size, size, seed)
    with transaction.atomic():
        populate(world, timezone.now().date())
    connections.close_all()
    say(f"world written in {time.perf_counter() - started:.1f}s")


def digest() -> tuple[str, int, int]:
    """A digest of the proposals by world ids and amounts, their number and minor units."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.public_message, n.title, a.amount, p.currency_id FROM matching_allocation a "
            "JOIN pledges_pledge p ON p.id = a.pledge_id JOIN needs_need n ON n.id = a.need_id "
            "WHERE a.status = 'proposed' ORDER BY 1, 2"
        )
        rows = cursor.fetchall()
    from apps.matching.services.snapshot import load_world

    pool = load_world().pool
    h = hashlib.sha256()
    for row in rows:
        h.update(repr(row[:3]).encode())
    return h.hexdigest()[:12], len(rows), sum(pool.to_pool(r[2], r[3]) for r in rows)


def _traffic(i: int, stop, pledge_ids: list, need_ids: list, hold: float, done: list) -> None:
    """A request's transaction, over and over: lock a pledge and a need (as committing a
    proposal does), hold them ``hold`` seconds, taking the audit chain's lock for the last
    tenth of it (the audit row is written last), commit."""
    import random

    from django.db import connection, transaction

    from apps.audit.services import CHAIN_LOCK_KEY
    from apps.needs.models import Need
    from apps.pledges.models import Pledge

    rng = random.Random(i)
    try:
        while not stop.is_set():
            with transaction.atomic():
                list(Pledge.objects.select_for_update().filter(pk=rng.choice(pledge_ids)))
                list(Need.objects.select_for_update().filter(pk=rng.choice(need_ids)))
                time.sleep(hold * 0.9)
                with connection.cursor() as cursor:  # the audit row comes last
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
                time.sleep(hold * 0.1)
            done[i] += 1
    finally:
        connection.close()


def contention(threads: int, hold: float, commits: int = 50) -> list[tuple[str, float, str]]:
    """Lock waits under request traffic: the former blocking lock statements (every pledge and
    need, in order) against a full run that locks with SKIP LOCKED, both under ``threads``
    request transactions holding a random pledge and need for ``hold`` seconds each."""
    import threading

    from django.db import connection, transaction

    from apps.matching.locks import lock_needs, lock_pledges
    from apps.matching.models import Allocation
    from apps.matching.services.runs import match_run_execute
    from apps.needs.models import Need
    from apps.pledges.models import Pledge

    pledge_ids = list(Pledge.objects.values_list("pk", flat=True))
    need_ids = list(Need.objects.values_list("pk", flat=True))
    stop, done = threading.Event(), [0] * threads
    workers = [
        threading.Thread(target=_traffic, args=(i, stop, pledge_ids, need_ids, hold, done))
        for i in range(threads)
    ]
    for w in workers:
        w.start()
    out, ids = [], []
    try:
        time.sleep(2 * hold)
        say(f"under traffic: the former blocking locks ({threads} threads, hold {hold}s)")
        t0 = time.perf_counter()
        with transaction.atomic():
            lock_pledges(pledge_ids)
            lock_needs(need_ids)
            blocking = time.perf_counter() - t0
            time.sleep(1.0)  # the former write held them on: requests queue behind it
        out.append(("blocking lock of every pledge and need", blocking, ""))
        say("under traffic: a full run that rewrites every proposal (SKIP LOCKED)")
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM matching_allocation WHERE status = 'proposed'; "
                "UPDATE pledges_pledge SET proposed_amount = 0, status = 'open' "
                "WHERE status IN ('partially_allocated', 'fully_allocated'); "
                "UPDATE needs_need SET proposed_amount = 0"
            )
        t0 = time.perf_counter()
        run = match_run_execute(trigger="manual")
        s = run.stats
        out.append(
            (
                "full run (load, solve, write)",
                time.perf_counter() - t0,
                f"lock {s['seconds_write_lock']:.2f} s, busy rows left {s['skipped_busy']}, "
                f"created {run.created:,}",
            )
        )
        # what a run's auto-commit step costs per allocation (one transaction each, with
        # blocking row locks and the audit chain's lock), under the traffic and then without
        ids = list(
            Allocation.objects.filter(status="proposed")
            .order_by("pk")
            .values_list("pk", flat=True)[: 2 * commits]
        )
        out.append(("auto-commit, per allocation, under traffic", _commits(ids[:commits]), ""))
    finally:
        stop.set()
        for w in workers:
            w.join()
    out.append(("auto-commit, per allocation, quiet", _commits(ids[commits:]), ""))
    out.append(("request transactions done", float(sum(done)), ""))
    return out


def _commits(ids: list) -> float:
    from apps.matching.services.allocations import allocation_commit

    t0 = time.perf_counter()
    for pk in ids:
        allocation_commit(allocation_id=pk)
    return (time.perf_counter() - t0) / max(1, len(ids))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="pledges and needs (each)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="2,000 × 2,000 (under a minute)")
    parser.add_argument(
        "--traffic",
        type=int,
        default=4,
        help="request transactions beside the contention runs (0: skip them)",
    )
    parser.add_argument("--hold", type=float, default=0.1, help="seconds each one holds its locks")
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/aidmatch_bench")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the first full run (cProfile: a summary to stderr, the whole profile to "
        "matching_e2e.prof for pstats; its times are then not comparable)",
    )
    args = parser.parse_args()
    size = 2_000 if args.quick else args.size

    say(f"recreating {urlparse(args.database).path.lstrip('/')}")
    recreate_database(args.database)
    os.environ["DATABASE_URL"] = args.database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["MATCHING_TRIGGER_ON_CHANGE"] = "false"
    # as a worker runs it: tasks are not run in-process, so the relay of the run's events is
    # not run at its commit either (a worker's housekeeping relays them); timed on its own below
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    os.environ["EMAIL_URL"] = "dummymail://"  # the relay's notices (one per donor) go nowhere
    # as in production: with DEBUG on, Django keeps the text of every statement (and a bulk
    # statement carries the whole write)
    os.environ["DJANGO_DEBUG"] = "false"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    say("migrating")
    call_command("migrate", verbosity=0)
    connections.close_all()
    say(f"generating and writing a {size:,} × {size:,} world (child process)")
    child = os.fork()
    if child == 0:
        try:
            write_world(size, args.seed)
        finally:
            os._exit(0)
    os.waitpid(child, 0)

    from apps.matching.models import Allocation
    from apps.matching.services.runs import match_run_execute
    from apps.pledges.services import pledge_create
    from apps.reference.models import Currency

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def timed_run(label: str, **kwargs):
        say(label)
        loadavg = os.getloadavg()[0]
        t0 = time.perf_counter()
        run = match_run_execute(trigger="manual", **kwargs)
        return run, time.perf_counter() - t0, loadavg

    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        first = profiler.runcall(timed_run, "full run (load, solve, write)")
        profiler.dump_stats("matching_e2e.prof")
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(50)
    else:
        first = timed_run("full run (load, solve, write)")
    rss_first = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows_digest, n_rows, units = digest()
    # The run's events are rendered by the relay, after the run's transaction (as a worker's
    # housekeeping does every EVENTS_RELAY_SECONDS): timed apart, fan-out included.
    from apps.events.relay import relay_pending

    say("relaying the run's events (rendering their payloads)")
    t0 = time.perf_counter()
    relayed = relay_pending(max_batches=10**6)
    relay_s = time.perf_counter() - t0
    again = timed_run("the same run again (nothing new)")
    from apps.accounts.models import User

    pledge = pledge_create(
        donor=User.objects.get(email="bench@example.org"),
        amount=Decimal("2500.00"),
        currency=Currency.objects.get(code="USD"),
    )
    inc = timed_run(
        "incremental run for one new pledge", mode="incremental", pledge_ids=[pledge.pk]
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    held = Allocation.objects.filter(status="proposed").count()
    busy = contention(args.traffic, args.hold) if args.traffic else []

    run0 = first[0]
    print(
        f"\nEnd to end through PostgreSQL, {size:,} pledges × {size:,} needs "
        f"(seed {args.seed}, solver {run0.solver_version}); {load()}"
    )
    print(
        f"{'run':<24}{'total s':>8}{'load s':>8}{'solve s':>8}{'write s':>8}{'created':>8}"
        f"{'resized':>8}{'released':>9}{'kept':>7}{'stale':>6}{'busy':>5}{'trim':>5}"
        f"{'small':>6}{'load1':>6}"
    )
    for label, (run, seconds, loadavg) in (
        ("full run", first),
        ("re-run, nothing new", again),
        ("incremental, +1 pledge", inc),
    ):
        s = run.stats
        print(
            f"{label:<24}{seconds:>8.2f}{s['seconds_load']:>8.2f}{s['seconds_solve']:>8.2f}"
            f"{s['seconds_write']:>8.2f}{run.created:>8}{run.resized:>8}{run.released:>9}"
            f"{run.kept:>7}{run.skipped_stale:>6}{s.get('skipped_busy', 0):>5}"
            f"{s.get('trimmed', 0):>5}{s.get('dropped_small', 0):>6}{loadavg:>6.2f}"
        )
    print(
        f"rows: solver proposed {run0.stats.get('solver_rows', '?'):,}, database holds "
        f"{held:,} "
        f"(after the full run {n_rows:,}, digest {rows_digest}); pledges seen "
        f"{run0.pledges_seen:,}, needs seen {run0.needs_seen:,}"
    )
    print(
        f"funded minor units: run {run0.funded_minor:,}, database {units:,}"
        f" (the solver's own {run0.stats.get('solver_funded', 0):,}); objective run "
        f"{run0.objective:,} (solver's {run0.stats.get('solver_objective', 0):,})"
    )
    print(
        f"relay after the full run: {relayed:,} events rendered, positioned and fanned out in "
        f"{relay_s:.2f} s ({relay_s / max(relayed, 1) * 1000:.3f} ms each), outside the run"
    )
    print(
        f"peak RSS {peak_mb:.0f} MB (before the runs {rss_before:.0f} MB, after the full run "
        f"{rss_first:.0f} MB)"
    )
    if busy:
        print(
            f"\nUnder request traffic ({args.traffic} transactions at a time, each holding a "
            f"random pledge and need {args.hold} s, the audit chain's lock the last tenth of it)"
            f"; {load()}"
        )
        for label, seconds, detail in busy:
            value = f"{seconds:.0f}" if label.startswith("request") else f"{seconds:.3f} s"
            print(f"  {label:<42}{value:>10}  {detail}")
    seconds, mb = TARGETS.get(size, (None, None))
    if seconds is not None:
        target = f"target: {size // 1000}k × {size // 1000}k end to end under {seconds:.0f} s"
        target += f" and {mb} MB" if mb else ""
        verdict = first[1] < seconds and (mb is None or peak_mb < mb)
        print(f"{target}: {'met' if verdict else 'NOT met'} ({first[1]:.2f} s, {peak_mb:.0f} MB)")
    else:
        print("targets: 10k × 10k end to end under 3 s; 100k × 100k under 30 s and 1 GB")


if __name__ == "__main__":
    main()
