"""A giving statement at size: one donor with 5,000 pledges in a year.

    .venv/bin/python bench/statements.py [--pledges 5000] [--committed 1000] [--tranches 200]
        [--database postgres://postgres@127.0.0.1:5432/aidmatch_bench_statements]
        [--redis redis://127.0.0.1:6379/12]

The database named is DROPPED and created anew and migrated. One donor makes ``--pledges``
USD pledges (rows in bulk, each with its ledger posting); ``--committed`` of them are
proposed and committed (through the services) to AFN needs of ten organizations, one of them
sensitive; ``--tranches`` of those commitments are sent as tranches (through the services). The
statement is then read through the API (Django's test client) as JSON, CSV and PDF, each twice
(the second run's seconds are printed, with the query count and the size of the body). Prints
figures and the load average; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.exports import say, setup  # noqa: E402  (the same environment as the exports bench)
from bench.matching_e2e import load, recreate_database  # noqa: E402


def populate(n_pledges: int, n_committed: int, n_tranches: int):
    from django.db import transaction

    from apps.accounts.models import User
    from apps.disbursements import services as tranches
    from apps.fx.models import ExchangeRate
    from apps.ledger.services import post_pledge_opening
    from apps.matching.locks import lock_needs, lock_pledges
    from apps.matching.models import Allocation
    from apps.matching.services.allocations import allocation_commit, allocation_propose
    from apps.needs.models import Need
    from apps.organizations.models import Organization
    from apps.pledges.models import Pledge
    from apps.reference.models import Currency

    today = date.today()
    ExchangeRate.objects.create(
        base_id="USD", quote_id="AFN", rate=Decimal("70"), date=today, source="bench"
    )
    donor = User.objects.create_user(email="donor@bench.example.org", password="x" * 20)
    donor.full_name = "Bench Donor"
    donor.save()
    organizations = [
        Organization.objects.create(
            name=f"Bench organization {i}",
            kind="ngo",
            afghan_led=True,
            status="verified",
            sensitive=i == 0,
            province_id="AF01",
        )
        for i in range(10)
    ]
    needs = [
        Need.objects.create(
            organization=org,
            title=f"Bench need {i}",
            description="Bench",
            sector_id="food_security",
            province_id="AF01",
            district_id="AF0101",
            amount=Decimal("100000000"),
            currency_id="AFN",
            urgency=3,
            deadline=today.replace(year=today.year + 1),
            status="open",
        )
        for i, org in enumerate(organizations)
    ]
    say(f"{n_pledges} pledges")
    with transaction.atomic():
        pledges = Pledge.objects.bulk_create(
            Pledge(
                donor=donor,
                amount=Decimal("100.00"),
                original_amount=Decimal("100.00"),
                currency_id="USD",
            )
            for _ in range(n_pledges)
        )
        for pledge in pledges:
            post_pledge_opening(pledge=pledge)
    say(f"{n_committed} commitments")
    committed = []
    for i, pledge in enumerate(pledges[:n_committed]):
        need = needs[i % len(needs)]
        with transaction.atomic():
            allocation = allocation_propose(
                pledge=lock_pledges([pledge.pk])[pledge.pk],
                need=lock_needs([need.pk])[need.pk],
                amount=Decimal("80.00"),
                need_amount=Decimal("5600.00"),
                explanation={"admitted_by": "bench"},
            )
        Allocation.objects.filter(pk=allocation.pk).update(rate=Decimal("70"))
        committed.append(allocation_commit(allocation_id=allocation.pk))
    say(f"{n_tranches} tranches")
    usd = Currency.objects.get(code="USD")
    for allocation in committed[:n_tranches]:
        tranche = tranches.disbursement_create(
            actor=donor,
            allocation_ids=[allocation.pk],
            amount=Decimal("50.00"),
            currency=usd,
            channel="bank",
        )
        tranches.disbursement_mark_sent(disbursement_id=tranche.pk, actor=donor, value_date=today)
    return donor


def measure(donor) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.accounts import services as account_services

    _, token = account_services.token_create(user=donor)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    year = date.today().year
    for fmt in ("json", "csv", "pdf"):
        for _ in range(2):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get("/api/v1/donors/me/statement", {"year": year, "format": fmt})
                body = (
                    b"".join(response.streaming_content) if response.streaming else response.content
                )
                seconds = time.perf_counter() - started
        assert response.status_code == 200, body[:300]
        print(
            f"statement {fmt:4}: {seconds:6.2f} s, {len(queries)} queries, "
            f"{len(body) / 1024:8.0f} KiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pledges", type=int, default=5_000)
    parser.add_argument("--committed", type=int, default=1_000)
    parser.add_argument("--tranches", type=int, default=200)
    parser.add_argument(
        "--database", default="postgres://postgres@127.0.0.1:5432/aidmatch_bench_statements"
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args()
    say(f"recreating {urlparse(args.database).path.lstrip('/')}")
    recreate_database(args.database)
    setup(args)
    from django.core.management import call_command

    say("migrating")
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    donor = populate(args.pledges, args.committed, args.tranches)
    say(f"world built in {time.perf_counter() - started:.0f} s")
    print(
        f"one donor: {args.pledges} pledges, {args.committed} commitments, "
        f"{args.tranches} tranches ({load()})"
    )
    measure(donor)


if __name__ == "__main__":
    main()
