"""End to end through PostgreSQL: a seeded world written as real rows, then a matching run that
loads it, solves, and writes its proposals under row locks; then a re-run with nothing new
(it must change nothing) and the incremental path for one new pledge.

    .venv/bin/python bench/matching_e2e.py [--size 10000] [--seed 7]
        [--database postgres://postgres@127.0.0.1:5432/aidmatch_bench]

The database named is DROPPED and created anew (default: aidmatch_bench on loopback).
Prints figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def say(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


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
    Need.objects.bulk_create(needs.values(), batch_size=2000)
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
        )
        sector_links += [(p.id, sector_of[s]) for s in p.sectors]
        province_links += [(p.id, pr) for pr in p.provinces]
    Pledge.objects.bulk_create(pledges.values(), batch_size=2000)
    SectorLink = Pledge.earmark_sectors.through
    ProvinceLink = Pledge.earmark_provinces.through
    SectorLink.objects.bulk_create(
        [SectorLink(pledge=pledges[p], sector_id=s) for p, s in sector_links], batch_size=5000
    )
    ProvinceLink.objects.bulk_create(
        [ProvinceLink(pledge=pledges[p], province_id=pr) for p, pr in province_links],
        batch_size=5000,
    )
    return {"pledges": pledges, "needs": needs, "donor": donor}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="pledges and needs (each)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/aidmatch_bench")
    args = parser.parse_args()

    say(f"recreating {urlparse(args.database).path.lstrip('/')}")
    recreate_database(args.database)
    os.environ["DATABASE_URL"] = args.database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["MATCHING_TRIGGER_ON_CHANGE"] = "false"
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from apps.matching.models import Allocation
    from apps.matching.services.runs import match_run_execute
    from bench.worlds import make_world

    say("migrating")
    call_command("migrate", verbosity=0)
    say(f"generating and writing a {args.size:,} × {args.size:,} world")
    world = make_world(args.size, args.size, args.seed)
    started = time.perf_counter()
    rows = populate(world, timezone.now().date())
    say(f"rows written in {time.perf_counter() - started:.1f}s")

    def timed_run(label: str, **kwargs):
        say(label)
        t0 = time.perf_counter()
        run = match_run_execute(trigger="manual", **kwargs)
        return run, time.perf_counter() - t0

    first, first_s = timed_run("full run (load, solve, write)")
    again, again_s = timed_run("the same run again (nothing new)")
    from apps.pledges.services import pledge_create
    from apps.reference.models import Currency

    pledge = pledge_create(
        donor=rows["donor"], amount=Decimal("2500.00"), currency=Currency.objects.get(code="USD")
    )
    inc, inc_s = timed_run(
        "incremental run for one new pledge", mode="incremental", pledge_ids=[pledge.pk]
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(
        f"\nEnd to end through PostgreSQL, {args.size:,} pledges × {args.size:,} needs "
        f"(seed {args.seed}, solver {first.solver_version})"
    )
    print(
        f"{'run':<34}{'total s':>9}{'load s':>8}{'solve s':>9}{'write s':>9}"
        f"{'created':>9}{'resized':>9}{'released':>9}{'kept':>7}"
    )
    for label, run, seconds in (
        ("full run", first, first_s),
        ("re-run, nothing new", again, again_s),
        ("incremental, +1 pledge", inc, inc_s),
    ):
        s = run.stats
        print(
            f"{label:<34}{seconds:>9.2f}{s['seconds_load']:>8.2f}{s['seconds_solve']:>9.2f}"
            f"{s['seconds_write']:>9.2f}{run.created:>9}{run.resized:>9}{run.released:>9}"
            f"{run.kept:>7}"
        )
    print(
        f"proposals in the database: {Allocation.objects.filter(status='proposed').count():,}; "
        f"pledges seen {first.pledges_seen:,}, needs seen {first.needs_seen:,}; "
        f"peak RSS {peak_mb:.0f} MB"
    )
    print("target: 10k × 10k end to end under 10 s")


if __name__ == "__main__":
    main()
