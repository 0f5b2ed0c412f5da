"""Open data exports at size: the flows as CSV and the IATI files of one organization with
10,000 needs and 100,000 ledger transactions.

    .venv/bin/python bench/exports.py [--needs 10000] [--transactions 100000] [--quick]
        [--database postgres://postgres@127.0.0.1:5432/aidmatch_bench_exports]
        [--redis redis://127.0.0.1:6379/12]

The database named is DROPPED and created anew, then filled in bulk (the ledger's triggers
check every transaction's balance at commit): one publishing organization with ``--needs``
USD needs; a publishing donor institution, private and anonymous donors with 2% of the
transactions as pledges (13 incoming pledge); the rest split evenly between commitments of
one allocation each (2 outgoing commitment) and tranches sending them (3 disbursement, one
line each, sent and not yet received), so every transaction is one flow.

Each export runs in a fresh subprocess, twice: once timed (wall seconds), once under
``tracemalloc`` (peak of Python allocations during the export: the figure for "memory stays
flat"); the subprocess's peak RSS (``VmHWM``: the whole process, Django and drivers included)
before and after is printed too. The flows CSV is ``GET /api/v1/flows/?format=csv`` through
Django's test client, its streamed body consumed; when this branch has no CSV renderer yet,
the JSON pages (``page_size=1000``) are walked instead and the line says so. IATI calls
``apps.opendata.iati.write_activities`` / ``write_organisation`` into a byte counter.
Targets: IATI under 10 s, CSV of 100,000 flows under 5 s, peak memory under 150 MB. Prints
figures and the load average; asserts nothing. ``--quick``: 1,000 needs, 10,000 transactions.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.matching_e2e import load, recreate_database  # noqa: E402

TARGETS = {"csv": 5.0, "iati": 10.0}
TARGET_MB = 150
LEDGER_CHUNK = 10_000


STARTED = time.perf_counter()


def say(message: str) -> None:
    print(f"... [{time.perf_counter() - STARTED:5.0f} s] {message}", file=sys.stderr, flush=True)


def setup(args) -> None:
    os.environ["DATABASE_URL"] = args.database
    os.environ["REDIS_URL"] = args.redis
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ["MATCHING_TRIGGER_ON_CHANGE"] = "false"
    os.environ["THROTTLE_RATE_ANON"] = os.environ["THROTTLE_RATE_CALLER"] = "100000000/min"
    import django

    django.setup()


def populate(n_needs: int, n_transactions: int, seed: int) -> str:
    """The world, in bulk; returns the publishing organization's id."""
    from django.db import transaction
    from django.utils import timezone

    from aidmatch.ledger import AccountKind as K
    from aidmatch.ledger import account_key
    from apps.accounts.models import User
    from apps.disbursements.models import Disbursement, DisbursementLine
    from apps.ledger.models import Account, LedgerTransaction, Leg
    from apps.matching.models import Allocation
    from apps.needs.models import Need
    from apps.organizations.models import Organization
    from apps.pledges.models import Pledge
    from apps.reference.models import District, Sector

    rng = random.Random(seed)
    now = timezone.now()
    n_pledges = max(1, n_transactions // 50)
    n_allocations = (n_transactions - n_pledges) // 2
    n_pledges = n_transactions - 2 * n_allocations
    with transaction.atomic():
        org = Organization.objects.create(
            name="Bench Relief Organization",
            pseudonym="Partner BENCH0001",
            kind="ngo",
            afghan_led=True,
            status="verified",
            publish_open_data=True,
            iati_org_id="AF-CCD-0001",
            province_id="AF01",
            contact_name="Contact",
            contact_email="contact@bench.example.org",
            contact_phone="+93 70 000 0000",
            address="House 1, Kabul",
        )
        institution = Organization.objects.create(
            name="Bench Donor Fund",
            pseudonym="Partner BENCH0002",
            kind="donor_institution",
            afghan_led=False,
            status="verified",
            publish_open_data=True,
            iati_org_id="XM-BENCH",
            province_id="AF01",
            contact_name="Officer",
            contact_email="officer@bench.example.org",
            contact_phone="+93 70 000 0001",
            address="Oslo",
        )
        donors = [
            User(email=f"donor{i}@bench.example.org", full_name=f"Donor {i}") for i in range(50)
        ]
        User.objects.bulk_create(donors)
        sectors = list(Sector.objects.values_list("code", flat=True))
        districts = list(District.objects.values_list("pcode", "province_id"))
        per_need = n_allocations // n_needs + 1
        needs = []
        for i in range(n_needs):
            district, province = rng.choice(districts)
            needs.append(
                Need(
                    id=uuid.uuid4(),
                    organization=org,
                    title=f"Need {i}: food packages for families",
                    description="Flour, rice, oil and pulses.",
                    sector_id=rng.choice(sectors),
                    province_id=province,
                    district_id=district,
                    beneficiaries_women=rng.randint(0, 500),
                    amount=Decimal(100 * per_need + 1000),
                    currency_id="USD",
                    urgency=rng.randint(1, 5),
                    deadline=now.date() + timedelta(days=90),
                    status="open",
                    committed_amount=Decimal(0),
                    disbursed_amount=Decimal(0),
                )
            )
        per_pledge = n_allocations // n_pledges + 1
        pledges = []
        for i in range(n_pledges):
            kind = i % 3
            pledges.append(
                Pledge(
                    id=uuid.uuid4(),
                    donor=donors[i % len(donors)],
                    donor_organization=institution if kind == 0 else None,
                    anonymous=kind == 2,
                    amount=Decimal(100 * per_pledge),
                    original_amount=Decimal(100 * per_pledge),
                    currency_id="USD",
                    status="partially_allocated",
                )
            )
        allocations, tranches, lines = [], [], []
        for i in range(n_allocations):
            pledge, need = pledges[i % n_pledges], needs[i % n_needs]
            amount = Decimal(rng.randint(1, 100))
            for row in (pledge, need):
                row.committed_amount += amount
                row.disbursed_amount += amount
            allocation = Allocation(
                pledge=pledge,
                need=need,
                status="disbursing",
                amount=amount,
                need_amount=amount,
                disbursed_amount=amount,
                committed_at=now,
            )
            allocations.append(allocation)
            tranche = Disbursement(
                id=uuid.uuid4(),
                donor=pledge.donor,
                donor_organization=pledge.donor_organization,
                organization=org,
                status="sent",
                amount=amount,
                currency_id="USD",
                channel="bank",
                sent_at=now,
            )
            tranches.append(tranche)
            lines.append((tranche, allocation, amount))
        Need.objects.bulk_create(needs, batch_size=2000)
        Pledge.objects.bulk_create(pledges, batch_size=2000)
        Allocation.objects.bulk_create(allocations, batch_size=5000)
        Disbursement.objects.bulk_create(tranches, batch_size=5000)
        DisbursementLine.objects.bulk_create(
            [
                DisbursementLine(disbursement=t, allocation=a, amount=x, need_amount=x)
                for t, a, x in lines
            ],
            batch_size=5000,
        )
        say(f"{n_needs} needs, {n_pledges} pledges, {n_allocations} allocations and tranches")
    analyze()
    with transaction.atomic():
        accounts = {}

        def account(kind, owner=None, **fields):
            key = account_key(kind, "USD", owner)
            if key not in accounts:
                accounts[key] = Account(key=key, kind=kind.value, currency_id="USD", **fields)
            return accounts[key]

        external, transit = account(K.EXTERNAL), account(K.IN_TRANSIT)
        for p in pledges:
            account(K.DONOR_PLEDGE, p.pk, pledge=p)
        for n in needs:
            account(K.NEED, n.pk, need=n)
        Account.objects.bulk_create(accounts.values(), batch_size=5000)

        txns, legs = [], []

        def post(key, iati_type, moves, **refs):
            txn = LedgerTransaction(key=key, iati_type=iati_type, description=key, **refs)
            txns.append(txn)
            for acc, amount in moves:
                legs.append((txn, acc, amount))

        for p in pledges:
            p_acc = accounts[account_key(K.DONOR_PLEDGE, "USD", p.pk)]
            post(f"pledge-made:{p.pk}", 13, [(external, -p.amount), (p_acc, p.amount)], pledge=p)
        for tranche, a, amount in lines:
            p_acc = accounts[account_key(K.DONOR_PLEDGE, "USD", a.pledge.pk)]
            n_acc = accounts[account_key(K.NEED, "USD", a.need.pk)]
            post(
                f"allocation-committed:{a.pk}",
                2,
                [(p_acc, -amount), (n_acc, amount)],
                pledge=a.pledge,
                need=a.need,
                allocation=a,
            )
            post(f"disbursement-sent:{tranche.pk}", 3, [(n_acc, -amount), (transit, amount)])
    # The ledger in chunks, each its own transaction: the triggers check each transaction's
    # balance at commit, by index once the tables have statistics (ANALYZE, a new session for
    # PL/pgSQL's cached plans).
    by_txn = defaultdict(list)
    for txn, acc, amount in legs:
        by_txn[id(txn)].append(Leg(transaction=txn, account=acc, amount=amount, currency_id="USD"))
    # A small first chunk: until ANALYZE the checks scan the whole table (quadratic).
    bounds = [0, 500, *range(LEDGER_CHUNK, len(txns), LEDGER_CHUNK), len(txns)]
    for start, end in itertools.pairwise(bounds):
        chunk = txns[start:end]
        if not chunk:
            continue
        with transaction.atomic():
            LedgerTransaction.objects.bulk_create(chunk, batch_size=5000)
            Leg.objects.bulk_create(
                [leg for txn in chunk for leg in by_txn[id(txn)]], batch_size=10000
            )
        analyze()
        say(f"ledger: {end} of {len(txns)} transactions")
    say(f"{len(txns)} ledger transactions, {len(legs)} legs")
    return str(org.pk)


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()


class Counter:
    """A binary sink that only counts."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data) -> int:
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass


def export_csv(org_id: str) -> tuple[int, str]:
    from django.test import Client

    client = Client()
    response = client.get("/api/v1/flows/", {"format": "csv"})
    if response.status_code == 200 and response["Content-Type"].startswith("text/csv"):
        chunks = response.streaming_content if response.streaming else [response.content]
        size = rows = 0
        for chunk in chunks:
            size += len(chunk)
            rows += chunk.count(b"\n")
        return rows, f"CSV, {size / 1e6:.1f} MB"
    rows, path = 0, "/api/v1/flows/?page_size=1000"
    while path:
        body = json.loads(client.get(path).content)
        rows += len(body["results"])
        path = body["next"]
    return rows, "no CSV renderer in this branch: JSON pages of 1,000 walked"


def export_iati(org_id: str) -> tuple[int, str]:
    from apps.opendata.iati import write_activities, write_organisation
    from apps.organizations.models import Organization

    org = Organization.objects.get(pk=org_id)
    activities, organisation = Counter(), Counter()
    count = write_activities(org, activities)
    write_organisation(org, organisation)
    return count, f"activities {activities.size / 1e6:.1f} MB, organisation {organisation.size} B"


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: since its exec, unlike ru_maxrss, which Linux carries
    over from the parent that built the world)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(args) -> None:
    """In a fresh process: the export once timed, once under tracemalloc; one JSON line."""
    setup(args)
    export = {"csv": export_csv, "iati": export_iati}[args.measure]
    from django.db import connection

    connection.ensure_connection()
    from django.test import Client

    # Warm: the first request imports every view of the URLconf (tens of MB that any running
    # server holds anyway); what follows is what the export itself adds.
    Client().get("/api/v1/flows/", {"page_size": 1})
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    rows, what = export(args.org)
    seconds = time.perf_counter() - started
    rss_peak = peak_rss_mb()
    tracemalloc.start()
    export(args.org)
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(
        json.dumps(
            {
                "rows": rows,
                "what": what,
                "seconds": seconds,
                "rss_before": rss_before,
                "rss_peak": rss_peak,
                "traced": traced,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--needs", type=int, default=10_000)
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="1,000 needs, 10,000 transactions")
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/aidmatch_bench_exports"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--measure", choices=["csv", "iati"], help=argparse.SUPPRESS)
    parser.add_argument("--org", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        return measure(args)
    if args.quick:
        args.needs, args.transactions = 1_000, 10_000

    say(f"recreating {urlparse(args.database).path.lstrip('/')}")
    recreate_database(args.database)
    setup(args)
    from django.core.management import call_command

    say("migrating")
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    org_id = populate(args.needs, args.transactions, args.seed)
    say(f"world built in {time.perf_counter() - started:.0f} s")

    print(
        f"exports: 1 organization, {args.needs:,} needs, {args.transactions:,} ledger "
        f"transactions; wall s, tracemalloc peak MB (Python allocations during the export), "
        f"peak RSS MB (VmHWM, whole process, before → after); targets CSV < {TARGETS['csv']:g} s, "
        f"IATI < {TARGETS['iati']:g} s, < {TARGET_MB} MB"
    )
    for name in ("csv", "iati"):
        say(f"measuring {name}")
        before = load()
        out = subprocess.run(
            [
                *(sys.executable, __file__, "--measure", name, "--org", org_id),
                *("--database", args.database, "--redis", args.redis),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{name:<5} {figures['rows']:>8,} rows {figures['seconds']:>7.2f} s "
            f"{figures['traced']:>7.1f} MB traced  rss {figures['rss_before']:.0f} → "
            f"{figures['rss_peak']:.0f} MB  ({figures['what']})  load {before} → {load()}",
            flush=True,
        )


if __name__ == "__main__":
    main()
