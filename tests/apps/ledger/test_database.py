"""PostgreSQL holds the ledger's rules against any writer, raw SQL included: legs balance per
currency at commit, and transactions and legs are never updated or deleted."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from aidmatch.ledger import AccountKind
from apps.ledger import services as ledger
from apps.ledger.models import LedgerTransaction, Leg
from tests.factories import PledgeFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the triggers exist on PostgreSQL only"
)


def raw_posting(key: str, legs) -> int:
    """Insert a transaction and its legs with plain SQL, one leg at a time."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_transaction (key, iati_type, description, created_at) "
            "VALUES (%s, 13, 'raw', now()) RETURNING id",
            [key],
        )
        (txn,) = cursor.fetchone()
        for account, amount, currency in legs:
            cursor.execute(
                "INSERT INTO ledger_leg (transaction_id, account_id, amount, currency_id) "
                "VALUES (%s, %s, %s, %s)",
                [txn, account.pk, amount, currency],
            )
    return txn


@pytest.fixture
def accounts(transactional_db):
    return (
        ledger.shared_account(AccountKind.EXTERNAL, "USD"),
        ledger.shared_account(AccountKind.FX, "USD"),
        ledger.shared_account(AccountKind.FX, "AFN"),
    )


@pytest.mark.django_db(transaction=True)
def test_legs_that_do_not_balance_are_refused_at_commit(accounts):
    external, fx_usd, _ = accounts

    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        raw_posting("raw-unbalanced", [(external, "-100.00", "USD"), (fx_usd, "99.99", "USD")])
        # Inside the transaction, the legs are accepted one by one (the check is deferred).
        assert Leg.objects.filter(transaction__key="raw-unbalanced").count() == 2

    assert not LedgerTransaction.objects.filter(key="raw-unbalanced").exists()


@pytest.mark.django_db(transaction=True)
def test_each_currency_must_balance_at_commit_and_legs_match_their_accounts(accounts):
    external, fx_usd, fx_afn = accounts

    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        # Sums to zero overall, but neither USD nor AFN balances.
        raw_posting("raw-mixed", [(external, "-100.00", "USD"), (fx_afn, "100.00", "AFN")])
    with pytest.raises(IntegrityError, match="holds another currency"), transaction.atomic():
        raw_posting("raw-wrong-cur", [(fx_afn, "-5.00", "USD"), (fx_usd, "5.00", "USD")])
    with pytest.raises(IntegrityError, match="at least two"), transaction.atomic():
        raw_posting("raw-no-legs", [])

    assert not LedgerTransaction.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_balanced_raw_posting_commits(accounts):
    external, fx_usd, _ = accounts

    with transaction.atomic():
        raw_posting(
            "raw-balanced",
            [(external, "-100.00", "USD"), (fx_usd, "60.00", "USD"), (fx_usd, "40.00", "USD")],
        )

    assert Leg.objects.filter(transaction__key="raw-balanced").count() == 3


def test_update_and_delete_are_refused_by_the_database(donor):
    made = LedgerTransaction.objects.get(key=f"pledge-made:{PledgeFactory(donor=donor).pk}")
    leg = made.legs.first()
    statements = [
        ("UPDATE ledger_leg SET amount = amount * 2 WHERE id = %s", leg.pk),
        ("DELETE FROM ledger_leg WHERE id = %s", leg.pk),
        ("UPDATE ledger_transaction SET description = 'edited' WHERE id = %s", made.pk),
        ("DELETE FROM ledger_transaction WHERE id = %s", made.pk),
    ]
    for sql, pk in statements:
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [pk])

    assert Leg.objects.get(pk=leg.pk).amount == leg.amount
    assert LedgerTransaction.objects.get(pk=made.pk).description == made.description


def test_the_service_postings_pass_the_deferred_checks(donor):
    PledgeFactory(donor=donor, amount=Decimal("10.00"))

    # What COMMIT would run: every deferred check, now. (Django's TestCase runs it too, after
    # every test, so each test's postings meet the trigger although its transaction never
    # commits.)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
