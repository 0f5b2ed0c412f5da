"""20 concurrent commits, reductions and withdrawals on two pledges, through the API on real
PostgreSQL (USD needs and AFN needs, so some commits pass through FX): every request commits or
is refused whole, and the ledger that results reconciles with every cached total."""

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from aidmatch.ledger import AccountKind, account_key
from apps.ledger.models import LedgerTransaction
from apps.ledger.reconcile import reconcile
from apps.ledger.selectors import balances
from apps.matching.models import Allocation
from apps.pledges.models import Pledge
from apps.pledges.services import pledge_create
from apps.reference.models import Currency
from tests.conftest import client_for
from tests.factories import NeedFactory, UserFactory, propose

D = Decimal


@pytest.mark.django_db(transaction=True)
def test_concurrent_commits_and_withdrawals_leave_a_ledger_that_reconciles(capsys):
    rng = random.Random(11)
    donor = UserFactory()
    usd = Currency.objects.get(code="USD")
    pledges = [pledge_create(donor=donor, amount=D("3000.00"), currency=usd) for _ in range(2)]
    needs = [NeedFactory(amount=D("1000.00")) for _ in range(4)]
    needs += [NeedFactory(amount=D("100000.00"), currency_id="AFN") for _ in range(3)]
    proposals = [
        propose(p, n, D("300.00"), D("300.00") if n.currency_id == "USD" else D("21037.02"))
        for p in pledges
        for n in needs
        if rng.random() < 0.6
    ]

    requests = [("commit", rng.choice(proposals).pk) for _ in range(12)]
    requests += [
        ("reduce", (rng.choice(pledges).pk, D(rng.randrange(500, 2500)))) for _ in range(4)
    ]
    requests += [("withdraw", p.pk) for p in pledges] * 2
    rng.shuffle(requests)
    clients = [client_for(donor) for _ in requests]

    def send(args):
        (kind, arg), client = args
        try:
            if kind == "commit":
                r = client.post(f"/api/v1/allocations/{arg}/commit")
            elif kind == "withdraw":
                r = client.post(f"/api/v1/pledges/{arg}/withdraw")
            else:
                pledge_id, amount = arg
                r = client.patch(f"/api/v1/pledges/{pledge_id}", {"amount": str(amount)})
            return kind, r.status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(send, zip(requests, clients, strict=True)))

    outcomes = Counter(results)
    assert all(status in (200, 409, 422) for _, status in results), outcomes
    assert outcomes[("commit", 200)] > 0, outcomes
    report = reconcile()
    assert report.ok, report.render()
    committed = Allocation.objects.filter(status="committed")
    assert LedgerTransaction.objects.filter(key__startswith="allocation-committed:").count() == (
        committed.count()
    )
    for pledge in Pledge.objects.all():
        key = account_key(AccountKind.DONOR_PLEDGE, "USD", pledge.pk)
        assert balances(key)[key] == pledge.amount - pledge.committed_amount
    with capsys.disabled():
        print(
            f"\n[ledger concurrency] outcomes {dict(sorted(outcomes.items()))}; "
            f"{report.counts['transactions']} transactions reconcile"
        )
