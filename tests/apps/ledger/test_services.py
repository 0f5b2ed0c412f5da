"""Postings: made by the pledge and allocation services in their own transaction, once per key,
balanced per currency (through FX between currencies), never changed afterwards."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from aidmatch.errors import StateConflict
from aidmatch.ledger import (
    AccountKind,
    IatiTransactionType,
    InvalidPosting,
    PostingConflict,
    UnbalancedPosting,
    account_key,
)
from apps.ledger import services as ledger
from apps.ledger.models import AppendOnly, LedgerTransaction, Leg
from apps.ledger.selectors import balances, transactions_for
from apps.matching.services.allocations import allocation_commit
from apps.pledges import services as pledge_services
from apps.pledges.models import Pledge
from apps.reference.models import Currency
from tests.factories import NeedFactory, PledgeFactory, propose

D = Decimal
T = IatiTransactionType


def pledge_key(pledge):
    return account_key(AccountKind.DONOR_PLEDGE, pledge.currency_id, pledge.pk)


def need_key(need):
    return account_key(AccountKind.NEED, need.currency_id, need.pk)


@pytest.fixture
def usd(db):
    return ledger.shared_account(AccountKind.EXTERNAL, "USD")


def test_a_pledge_made_through_the_service_is_an_incoming_pledge(donor):
    pledge = pledge_services.pledge_create(
        donor=donor, amount=D("1000.00"), currency=Currency.objects.get(code="USD")
    )

    (made,) = transactions_for(pledge=pledge)
    assert (made.key, made.iati_type) == (f"pledge-made:{pledge.pk}", T.INCOMING_PLEDGE)
    assert balances(pledge_key(pledge), "external:USD") == {
        pledge_key(pledge): D("1000.00"),
        "external:USD": D("-1000.00"),
    }


def test_commit_moves_money_from_the_pledge_to_the_need(donor):
    pledge = PledgeFactory(donor=donor, amount=D("1000.00"))
    need = NeedFactory(amount=D("600.00"))

    allocation = allocation_commit(allocation_id=propose(pledge, need, D("400.00")).pk)

    commit = LedgerTransaction.objects.get(key=f"allocation-committed:{allocation.pk}")
    assert commit.iati_type == T.OUTGOING_COMMITMENT
    assert (commit.pledge_id, commit.need_id, commit.allocation_id) == (
        pledge.pk,
        need.pk,
        allocation.pk,
    )
    assert balances(pledge_key(pledge), need_key(need)) == {
        pledge_key(pledge): D("600.00"),
        need_key(need): D("400.00"),
    }


def test_a_proposal_is_not_a_money_movement(donor):
    pledge = PledgeFactory(donor=donor, amount=D("1000.00"))
    need = NeedFactory()

    propose(pledge, need, D("400.00"))

    assert not transactions_for(need=need).exists()
    assert balances(pledge_key(pledge))[pledge_key(pledge)] == D("1000.00")


def test_a_commit_between_currencies_balances_per_currency_through_fx(donor):
    pledge = PledgeFactory(donor=donor, amount=D("1000.00"), currency_id="USD")
    need = NeedFactory(amount=D("100000.00"), currency_id="AFN")

    allocation = allocation_commit(
        allocation_id=propose(pledge, need, D("100.00"), D("7012.34")).pk
    )

    legs = Leg.objects.filter(transaction__allocation=allocation).select_related("account")
    assert sorted((leg.account.key, leg.amount, leg.currency_id) for leg in legs) == sorted(
        [
            (pledge_key(pledge), D("-100.00"), "USD"),
            ("fx:USD", D("100.00"), "USD"),
            ("fx:AFN", D("-7012.34"), "AFN"),
            (need_key(need), D("7012.34"), "AFN"),
        ]
    )
    assert balances(need_key(need))[need_key(need)] == D("7012.34")


def test_withdrawal_returns_the_uncommitted_part_to_the_donor(donor):
    pledge = pledge_services.pledge_create(
        donor=donor, amount=D("1000.00"), currency=Currency.objects.get(code="USD")
    )
    allocation_commit(allocation_id=propose(pledge, NeedFactory(), D("300.00")).pk)
    propose(pledge, NeedFactory(), D("200.00"))  # released by the withdrawal, never posted

    pledge = pledge_services.pledge_withdraw(pledge_id=pledge.pk, actor=donor)

    assert pledge.amount == D("300.00")
    reduced = LedgerTransaction.objects.get(key=f"pledge-reduced:{pledge.pk}:300.00")
    assert reduced.reverses.key == f"pledge-made:{pledge.pk}"
    assert reduced.iati_type == T.INCOMING_PLEDGE
    assert balances(pledge_key(pledge), "external:USD") == {
        pledge_key(pledge): D("0"),  # 1000 pledged − 300 committed − 700 given back
        "external:USD": D("-300.00"),
    }


def test_reductions_and_expiry_are_partial_reversals_of_the_pledge(donor):
    pledge = pledge_services.pledge_create(
        donor=donor,
        amount=D("1000.00"),
        currency=Currency.objects.get(code="USD"),
        expires_at=timezone.now() + timedelta(days=1),
    )
    pledge_services.pledge_reduce(pledge_id=pledge.pk, actor=donor, amount=D("800.00"))
    pledge_services.pledge_reduce(pledge_id=pledge.pk, actor=donor, amount=D("800.00"))  # no-op
    Pledge.objects.filter(pk=pledge.pk).update(expires_at=timezone.now())

    assert pledge_services.pledge_expire_due() == 1

    keys = list(transactions_for(pledge=pledge).values_list("key", flat=True))
    assert keys == [
        f"pledge-made:{pledge.pk}",
        f"pledge-reduced:{pledge.pk}:800.00",
        f"pledge-reduced:{pledge.pk}:0.00",
    ]
    assert balances(pledge_key(pledge))[pledge_key(pledge)] == 0


def test_a_refused_reduction_posts_nothing(donor):
    pledge = PledgeFactory(donor=donor, amount=D("1000.00"))
    allocation_commit(allocation_id=propose(pledge, NeedFactory(), D("500.00")).pk)

    with pytest.raises(StateConflict):
        pledge_services.pledge_reduce(pledge_id=pledge.pk, actor=donor, amount=D("400.00"))

    assert not LedgerTransaction.objects.filter(key__startswith="pledge-reduced").exists()


def test_posting_twice_with_the_same_key_posts_once(usd, donor):
    pledge = PledgeFactory(donor=donor, ledger=False)

    first = ledger.post_pledge_made(pledge=pledge)
    again = ledger.post_pledge_made(pledge=pledge)

    assert again.pk == first.pk
    assert LedgerTransaction.objects.filter(key=f"pledge-made:{pledge.pk}").count() == 1
    assert Leg.objects.filter(transaction=first).count() == 2


def test_the_same_key_with_another_body_is_refused(usd, donor):
    pledge = PledgeFactory(donor=donor, ledger=False)
    account = ledger.account_for_pledge(pledge)
    ledger.post_pledge_made(pledge=pledge)

    with pytest.raises(PostingConflict):
        ledger.ledger_post(
            key=f"pledge-made:{pledge.pk}",
            iati_type=T.INCOMING_PLEDGE,
            description="the same key, another amount",
            legs=[(usd, D("-1.00"), "USD"), (account, D("1.00"), "USD")],
            pledge=pledge,
        )


def test_the_service_refuses_an_unbalanced_posting(usd, donor):
    account = ledger.account_for_pledge(PledgeFactory(donor=donor))

    with pytest.raises(UnbalancedPosting):
        ledger.ledger_post(
            key="unbalanced",
            iati_type=T.INCOMING_PLEDGE,
            description="one cent lost",
            legs=[(usd, D("-1.00"), "USD"), (account, D("0.99"), "USD")],
        )
    with pytest.raises(InvalidPosting):
        ledger.ledger_post(
            key="too-precise",
            iati_type=T.INCOMING_PLEDGE,
            description="a tenth of a cent",
            legs=[(usd, D("-1.001"), "USD"), (account, D("1.001"), "USD")],
        )
    assert not LedgerTransaction.objects.filter(key__in=["unbalanced", "too-precise"]).exists()


def test_a_reversal_cannot_undo_more_than_the_original(donor):
    pledge = PledgeFactory(donor=donor, amount=D("100.00"))
    made = LedgerTransaction.objects.get(key=f"pledge-made:{pledge.pk}")
    account, external = ledger.account_for_pledge(pledge), made.legs.get(amount__lt=0).account

    with pytest.raises(InvalidPosting, match="more than"):
        ledger.ledger_post(
            key="too-much-back",
            iati_type=T.INCOMING_PLEDGE,
            description="gives back more than was pledged",
            legs=[(account, D("-100.01"), "USD"), (external, D("100.01"), "USD")],
            reverses=made,
        )


def test_transactions_and_legs_are_never_changed_through_django(donor):
    made = LedgerTransaction.objects.get(key=f"pledge-made:{PledgeFactory(donor=donor).pk}")
    leg = made.legs.first()

    with pytest.raises(AppendOnly):
        made.description = "edited"
        made.save()
    with pytest.raises(AppendOnly):
        leg.delete()
    with pytest.raises(AppendOnly):
        Leg.objects.filter(pk=leg.pk).update(amount=D("1"))
    with pytest.raises(AppendOnly):
        LedgerTransaction.objects.filter(pk=made.pk).delete()


# No service releases a committed allocation yet (the disbursement part will, for money returned
# for good): it would lower the cached totals with this posting. Alone, the posting leaves the
# cached totals above the ledger, which reconcile rightly reports.
@pytest.mark.ledger_unreconciled
def test_a_committed_allocation_released_later_is_reversed_in_full(donor):
    pledge = PledgeFactory(donor=donor, amount=D("1000.00"))
    need = NeedFactory(amount=D("100000.00"), currency_id="AFN")
    allocation = allocation_commit(
        allocation_id=propose(pledge, need, D("100.00"), D("7012.34")).pk
    )

    back = ledger.post_allocation_uncommitted(allocation=allocation, reason="organization closed")
    again = ledger.post_allocation_uncommitted(allocation=allocation, reason="organization closed")

    assert back.pk == again.pk
    assert back.reverses.key == f"allocation-committed:{allocation.pk}"
    assert balances(pledge_key(pledge), need_key(need), "fx:USD", "fx:AFN") == {
        pledge_key(pledge): D("1000.00"),
        need_key(need): 0,
        "fx:USD": 0,
        "fx:AFN": 0,
    }
    with pytest.raises(InvalidPosting, match="more than"):  # a second, different reversal
        ledger.ledger_post(
            key="uncommit-twice",
            iati_type=T.OUTGOING_COMMITMENT,
            description="again",
            legs=[
                (ledger.account_for_need(need), D("-1.00"), "AFN"),
                (ledger.shared_account(AccountKind.FX, "AFN"), D("1.00"), "AFN"),
            ],
            reverses=back.reverses,
        )


def test_accounts_are_created_once_per_key(donor):
    pledge = PledgeFactory(donor=donor)

    assert ledger.account_for_pledge(pledge).pk == ledger.account_for_pledge(pledge).pk
    assert ledger.shared_account("fx", "AFN").key == "fx:AFN"
