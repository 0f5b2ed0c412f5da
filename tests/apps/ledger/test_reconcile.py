"""Reconcile: after a realistic run of pledges, commits, reductions and withdrawals the ledger
agrees with every cached total; a total tampered with behind the services' back is found and
named, the command exits non-zero, the hourly task records it and /healthz reports it."""

import logging
import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from apps.ledger.models import ReconcileRun
from apps.ledger.reconcile import reconcile
from apps.ledger.tasks import reconcile_ledger
from apps.matching.models import Allocation
from apps.matching.services.allocations import allocation_commit, allocation_decline
from apps.pledges import services as pledge_services
from apps.pledges.models import Pledge
from apps.reference.models import Currency
from tests.factories import NeedFactory, UserFactory, propose

D = Decimal


def a_realistic_day(donor):
    """Two donors' pledges in USD and EUR funding needs in USD and AFN: proposals committed,
    declined and left open; one pledge reduced, one withdrawn, one expired."""
    usd, eur = Currency.objects.get(code="USD"), Currency.objects.get(code="EUR")
    other = UserFactory()
    bread = NeedFactory(amount=D("5000.00"), currency_id="AFN", title="Bread")
    school = NeedFactory(amount=D("900.00"), currency_id="USD", title="School")
    wells = NeedFactory(amount=D("300000.00"), currency_id="AFN", title="Wells")

    big = pledge_services.pledge_create(donor=donor, amount=D("2000.00"), currency=usd)
    euros = pledge_services.pledge_create(donor=other, amount=D("1000.00"), currency=eur)
    brief = pledge_services.pledge_create(
        donor=donor,
        amount=D("50.00"),
        currency=usd,
        expires_at=timezone.now() + timedelta(hours=2),
    )

    allocation_commit(allocation_id=propose(big, bread, D("50.00"), D("3506.17")).pk)
    allocation_commit(allocation_id=propose(big, school, D("600.00")).pk)
    allocation_decline(allocation_id=propose(big, wells, D("100.00"), D("7012.34")).pk)
    propose(big, wells, D("200.00"), D("14024.68"))  # left open
    allocation_commit(allocation_id=propose(euros, wells, D("400.00"), D("30400.00")).pk)
    allocation_commit(allocation_id=propose(euros, school, D("250.00"), D("270.00")).pk)

    pledge_services.pledge_reduce(pledge_id=big.pk, actor=donor, amount=D("1500.00"))
    pledge_services.pledge_withdraw(pledge_id=euros.pk, actor=other)
    Pledge.objects.filter(pk=brief.pk).update(expires_at=timezone.now())
    pledge_services.pledge_expire_due()
    return big, euros, brief, bread, school, wells


def test_reconcile_passes_after_a_realistic_sequence(donor):
    a_realistic_day(donor)

    report = reconcile()

    assert report.ok, report.render()
    # 3 pledges made, 4 commitments, 1 reduction, 1 withdrawal, 1 expiry; proposals post nothing.
    # Legs: 2 per pledge event, 4 per commitment across currencies (3 of them), 2 for the other.
    assert report.counts == {
        "transactions": 10,
        "legs": 6 * 2 + 3 * 4 + 2,
        "accounts": 3 + 3 + 2 + 3,  # pledges, needs, external USD/EUR, fx USD/EUR/AFN
        "pledges": 3,
        "needs": 3,
        "allocations": 6,
        "refunds": 0,
    }


def test_the_command_prints_what_it_checked_and_exits_zero(donor, capsys):
    a_realistic_day(donor)

    call_command("reconcile")

    out = capsys.readouterr().out
    assert ": OK" in out
    assert "3 pledges, 3 needs, 6 allocations" in out


@pytest.mark.ledger_unreconciled
def test_a_tampered_cached_total_fails_the_command_and_names_the_row(donor, capsys):
    big, *_ = a_realistic_day(donor)
    with connection.cursor() as cursor:  # behind the services' back
        cursor.execute(
            "UPDATE pledges_pledge SET committed_amount = committed_amount - 10 WHERE id = %s",
            [big.pk],
        )

    with pytest.raises(CommandError) as failed:
        call_command("reconcile")

    assert failed.value.returncode == 1
    out = capsys.readouterr().out
    assert "difference(s)" in out
    assert f"pledge.committed_amount pledge {big.pk}: expected 650, found 640 USD" in out
    assert f"pledge.committed_amount (rows) pledge {big.pk}: expected 650, found 640 USD" in out


@pytest.mark.ledger_unreconciled
def test_each_kind_of_difference_is_found(donor):
    big, _euros, _brief, bread, school, wells = a_realistic_day(donor)
    committed = Allocation.objects.filter(need=bread, status="committed").get()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE needs_need SET committed_amount = 1 WHERE id = %s", [school.pk])
        cursor.execute("UPDATE needs_need SET disbursed_amount = 1 WHERE id = %s", [wells.pk])
        cursor.execute("UPDATE pledges_pledge SET amount = 1499 WHERE id = %s", [big.pk])
        # A commitment undone without its reversal posting:
        cursor.execute(
            "UPDATE matching_allocation SET status = 'released' WHERE id = %s", [committed.pk]
        )

    found = {(d.check, d.id) for d in reconcile().differences}

    assert {
        ("need.committed_amount", str(school.pk)),
        ("need.committed_amount (rows)", str(school.pk)),
        ("need.disbursed_amount", str(wells.pk)),
        ("pledge.amount", str(big.pk)),
        ("allocation.amount", str(committed.pk)),
        ("allocation.need_amount", str(committed.pk)),
        ("need.committed_amount (rows)", str(bread.pk)),
        ("pledge.committed_amount (rows)", str(big.pk)),
    } <= found


def test_an_unbalanced_transaction_is_found_before_the_database_refuses_it(donor):
    from apps.ledger import services as ledger

    external = ledger.shared_account("external", "USD")
    fx = ledger.shared_account("fx", "USD")
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_transaction (key, iati_type, description, created_at) "
                "VALUES ('raw', 13, 'raw', now()) RETURNING id"
            )
            (txn,) = cursor.fetchone()
            cursor.execute(
                "INSERT INTO ledger_leg (transaction_id, account_id, amount, currency_id) "
                "VALUES (%s, %s, -5, 'USD'), (%s, %s, 4, 'USD')",
                [txn, external.pk, txn, fx.pk],
            )
        differences = reconcile().differences
        transaction.set_rollback(True)  # never reaches the commit the trigger would refuse

    assert [(d.check, d.id, d.actual) for d in differences] == [
        ("transaction.balance", str(txn), "-1")
    ]


def test_the_hourly_task_records_each_run(donor):
    a_realistic_day(donor)

    assert reconcile_ledger.delay().get() is True

    run = ReconcileRun.objects.get()
    assert run.ok and run.differences == [] and run.counts["allocations"] == 6
    assert "reconcile-ledger" in settings.CELERY_BEAT_SCHEDULE


@pytest.mark.ledger_unreconciled
def test_a_failed_run_is_logged_as_an_error_and_degrades_health(donor, client, caplog):
    big, *_ = a_realistic_day(donor)
    assert client.get("/healthz").json()["checks"]["ledger"]["status"] == "unknown"
    reconcile_ledger.delay()
    assert client.get("/healthz").json()["checks"]["ledger"]["status"] == "up"
    Pledge.objects.filter(pk=big.pk).update(committed_amount=D("0"))

    with caplog.at_level(logging.ERROR, logger="apps.ledger.reconcile"):
        assert reconcile_ledger.delay().get() is False

    assert any(r.levelno == logging.ERROR and str(big.pk) in r.getMessage() for r in caplog.records)
    failed = ReconcileRun.objects.order_by("-finished_at").first()
    assert not failed.ok
    assert {d["check"] for d in failed.differences} >= {"pledge.committed_amount"}
    response = client.get("/healthz")
    assert response.status_code == 200  # degraded, still serving: 503 is for dependencies down
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["ledger"]["status"] == "degraded"


@pytest.mark.django_db(transaction=True)
@pytest.mark.ledger_unreconciled
def test_manage_py_reconcile_exits_non_zero_from_the_shell():
    donor = UserFactory()
    big, *_ = a_realistic_day(donor)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    env["DATABASE_URL"] = _url_of_the_test_database()

    def run():
        return subprocess.run(
            [sys.executable, "manage.py", "reconcile"],
            capture_output=True,
            text=True,
            env=env,
            cwd=settings.BASE_DIR,
            check=False,
        )

    passed = run()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    Pledge.objects.filter(pk=big.pk).update(committed_amount=D("640"))
    failed = run()

    assert failed.returncode == 1
    assert f"pledge.committed_amount pledge {big.pk}: expected 650, found 640 USD" in failed.stdout
    assert "does not reconcile" in failed.stderr


def _url_of_the_test_database() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


def test_progress_goes_to_stderr_on_large_data(donor, capsys, monkeypatch):
    a_realistic_day(donor)
    monkeypatch.setattr("apps.ledger.reconcile.CHUNK", 2)  # "large" is 2 rows here

    call_command("reconcile")

    captured = capsys.readouterr()
    assert "pledges: 2/3" in captured.err and "allocations: 6/6" in captured.err
    assert "pledges: 2/3" not in captured.out


@pytest.mark.ledger_unreconciled
def test_refunds_and_spending_are_reconciled(donor):
    """Clean after refunds; a refund total that disagrees with its rows and postings, or a
    report written past the service that spends more than was received, is named."""
    from apps.disbursements.models import Disbursement
    from apps.reports.models import DeliveryReport
    from tests.apps.disbursements.test_refunds import received_tranche
    from tests.conftest import client_for

    _org, staff, need, _pledge, tranche = received_tranche(donor)
    response = client_for(staff).post(
        f"/api/v1/disbursements/{tranche.pk}/refunds",
        {"amount": "40.00", "currency": "USD", "reason": "the school closed for winter"},
        format="json",
    )
    assert response.status_code == 201, response.content
    clean = reconcile()
    assert clean.ok, clean.render()
    assert clean.counts["refunds"] == 1

    Disbursement.objects.filter(pk=tranche.pk).update(refunded_amount=D("30.00"))
    DeliveryReport.objects.create(
        need=need, period_start="2026-01-01", period_end="2026-01-31", amount_spent=D("70.01")
    )
    found = {(d.check, d.id, d.expected, d.actual) for d in reconcile().differences}

    assert found == {
        ("tranche.refunded_amount (rows)", str(tranche.pk), "40", "30"),
        ("tranche.refunded_amount", str(tranche.pk), "40", "30"),
        ("need.spent_over_received", str(need.pk), "70", "70.01"),  # 100 less the 30 it says
    }
