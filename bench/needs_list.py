"""CPU per page of the needs list, for each kind of caller: anonymous, a donor, a member of an
organization (its own needs in full, the others restricted), a verifier (everything in full).

    .venv/bin/python bench/needs_list.py [--needs 2000] [--pages 50] [--page-size 50] [--quick]
        [--database postgres://postgres@127.0.0.1:5432/aidmatch_bench_needs]
        [--redis redis://127.0.0.1:6379/12]

The database named is DROPPED and created anew, then filled with open needs (bulk, encrypted
locations, a third with line items) across 100 organizations, one in five of them sensitive.
Each page is a GET /api/v1/needs/?page_size=50 through Django's test client, in process,
walking the cursor (and starting over at the end); the figure is ``time.process_time`` around
the whole request (authentication, throttling, query, serialization, rendering, the audit
write of confidential reads). Prints the minimum, median and 95th percentile in ms and the
statements per page, with the load average (on a shared virtual machine the minimum is the
steadiest figure); ``--quick`` is 500 needs and 20 pages. Asserts nothing about
time; the target is 15 ms per page for every caller.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_MS = 15.0


def say(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def recreate_database(url: str) -> None:
    import psycopg2

    name = urlparse(url).path.lstrip("/")
    admin = psycopg2.connect(url.replace(f"/{name}", "/postgres"))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def populate(n_needs: int, seed: int) -> dict:
    """100 verified organizations (every fifth sensitive), ``n_needs`` open needs spread over
    them, sectors, provinces, districts and currencies; a third with one to three line items.
    Returns the callers: a donor, a member of the organization with the most needs, a verifier."""
    from apps.accounts.models import User
    from apps.needs.models import Need, NeedLineItem
    from apps.organizations.models import Membership, Organization
    from apps.reference.models import District, Sector

    rng = random.Random(seed)
    orgs = [
        Organization(
            name=f"Bench organization {i}",
            pseudonym=f"Partner BENCH{i:04d}",
            kind="ngo",
            afghan_led=True,
            status="verified",
            sensitive=i % 5 == 0,
            province_id=f"AF{1 + i % 34:02d}",
            contact_name=f"Contact {i}",
            contact_email=f"contact{i}@bench.example.org",
            contact_phone="+93 70 000 0000",
            address=f"House {i}, Kabul",
            principals=[{"name": f"Director {i}", "role": "director"}],
        )
        for i in range(100)
    ]
    Organization.objects.bulk_create(orgs)
    sectors = list(Sector.objects.values_list("code", flat=True))
    districts = list(District.objects.values_list("pcode", "province_id"))
    currencies = ["USD"] * 8 + ["AFN", "EUR"]
    today = date.today()
    needs, items = [], []
    for i in range(n_needs):
        district, province = rng.choice(districts)
        org = orgs[min(99, int(rng.expovariate(1 / 15)))]  # some organizations have many
        need = Need(
            id=uuid.uuid4(),
            organization=org,
            title=f"Need {i}: food packages for families",
            description="Flour, rice, oil and pulses for families headed by widows.",
            sector_id=rng.choice(sectors),
            province_id=province,
            district_id=district if rng.random() < 0.8 else None,
            location_detail=f"Behind the mosque, lane {i}" if rng.random() < 0.9 else "",
            beneficiaries_women=rng.randint(0, 500),
            beneficiaries_girls=rng.randint(0, 500),
            amount=Decimal(rng.randint(100, 50_000)),
            currency_id=rng.choice(currencies),
            urgency=rng.randint(1, 5),
            deadline=today + timedelta(days=rng.randint(10, 200)),
            status="open",
        )
        needs.append(need)
        if i % 3 == 0:
            for position in range(1, rng.randint(2, 4)):
                items.append(
                    NeedLineItem(
                        need=need,
                        position=position,
                        description=f"Item {position}",
                        unit="box",
                        unit_cost=Decimal(10),
                        quantity=position,
                        amount=Decimal(10 * position),
                    )
                )
    Need.objects.bulk_create(needs, batch_size=1000)
    NeedLineItem.objects.bulk_create(items, batch_size=2000)
    busiest = max(orgs, key=lambda o: sum(n.organization_id == o.pk for n in needs))
    donor = User.objects.create_user(email="donor@bench.example.org", password=uuid.uuid4().hex)
    staff = User.objects.create_user(email="staff@bench.example.org", password=uuid.uuid4().hex)
    Membership.objects.create(user=staff, organization=busiest, role="staff")
    verifier = User.objects.create_user(
        email="verifier@bench.example.org", password=uuid.uuid4().hex, platform_role="verifier"
    )
    own = sum(n.organization_id == busiest.pk for n in needs)
    say(f"{n_needs} needs, {len(items)} line items; the member's organization has {own} needs")
    return {"anonymous": None, "donor": donor, "org staff": staff, "verifier": verifier}


def measure(client, headers: dict, pages: int, page_size: int) -> dict:
    """CPU ms of ``pages`` consecutive pages (starting over at the end), and statements and
    rows of the first page."""
    import json

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = f"/api/v1/needs/?page_size={page_size}"
    for _ in range(3):  # imports, caches, connections: not measured
        client.get(first, **headers)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(first, **headers)
    assert response.status_code == 200, response.content[:300]
    statements = len(ctx.captured_queries)
    times, rows, path = [], [], first
    while len(times) < pages:
        started = time.process_time()
        response = client.get(path, **headers)
        times.append((time.process_time() - started) * 1000)
        body = json.loads(response.content)
        assert response.status_code == 200, response.content[:300]
        rows.append(len(body["results"]))
        path = body["next"] or first
    ordered = sorted(times)
    return {
        "min": ordered[0],
        "median": statistics.median(ordered),
        "p95": ordered[max(0, round(len(ordered) * 0.95) - 1)],
        "statements": statements,
        "rows": statistics.median(rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--needs", type=int, default=2000)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="500 needs, 20 pages")
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/aidmatch_bench_needs"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument(
        "--profile",
        metavar="CALLER",
        choices=["anonymous", "donor", "org staff", "verifier"],
        help="after the table, profile this caller's pages (cProfile, top 30 by own time)",
    )
    args = parser.parse_args()
    if args.quick:
        args.needs, args.pages = min(args.needs, 500), min(args.pages, 20)

    say(f"recreating {urlparse(args.database).path.lstrip('/')}")
    recreate_database(args.database)
    os.environ["DATABASE_URL"] = args.database
    os.environ["REDIS_URL"] = args.redis
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ["MATCHING_TRIGGER_ON_CHANGE"] = "false"
    os.environ["THROTTLE_RATE_ANON"] = os.environ["THROTTLE_RATE_CALLER"] = "100000/min"
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from apps.accounts import services as account_services

    say("migrating")
    call_command("migrate", verbosity=0)
    say("creating the needs")
    callers = populate(args.needs, args.seed)

    print(
        f"needs list: {args.pages} pages of {args.page_size} rows from {args.needs} open needs, "
        f"CPU ms per page (time.process_time), target {TARGET_MS:g} ms"
    )
    print(
        f"{'caller':<12} {'rows':>5} {'min':>8} {'median':>8} {'p95':>8} {'statements':>11}"
        "  load average"
    )
    for name, user in callers.items():
        headers = {}
        if user is not None:
            _, token = account_services.token_create(user=user)
            headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        say(f"measuring {name}")
        figures = measure(Client(), headers, args.pages, args.page_size)
        print(
            f"{name:<12} {figures['rows']:>5g} {figures['min']:>8.2f} {figures['median']:>8.2f} "
            f"{figures['p95']:>8.2f} "
            f"{figures['statements']:>11}  {load()}",
            flush=True,
        )
        if name == args.profile:
            profile(Client(), headers, args.pages, args.page_size)


def profile(client, headers: dict, pages: int, page_size: int) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    measure(client, headers, pages, page_size)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
