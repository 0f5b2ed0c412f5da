"""The postings a tranche makes (ready for apps/disbursements to call in its services): sent,
the need's money leaves for transit and fees; received, transit reaches the organization with
the day's difference through FX; failed or returned, both are reversed. With them the needs'
disbursed totals reconcile, the check the per-test fixture cannot make yet."""

from decimal import Decimal

import pytest

from aidmatch.ledger import AccountKind, IatiTransactionType, account_key
from apps.disbursements import services as tranches
from apps.ledger import services as ledger
from apps.ledger.models import LedgerTransaction
from apps.ledger.reconcile import reconcile
from apps.ledger.selectors import balances
from apps.matching.models import Allocation
from apps.matching.services.allocations import allocation_commit
from apps.reference.models import Currency
from tests.factories import MembershipFactory, NeedFactory, OrganizationFactory, PledgeFactory
from tests.factories import propose as proposal

D = Decimal


@pytest.fixture
def story(donor):
    org = OrganizationFactory(name="Kandahar Bread for Families")
    staff = MembershipFactory(organization=org).user
    need = NeedFactory(organization=org, amount=D("70000.00"), currency_id="AFN")
    pledge = PledgeFactory(donor=donor, amount=D("1000.00"), currency_id="USD")
    proposed = proposal(pledge, need, D("800.00"), D("56000.00"))
    Allocation.objects.filter(pk=proposed.pk).update(rate=D("70"))  # 800 USD at 70 AFN
    allocation = allocation_commit(allocation_id=proposed.pk)
    return org, staff, need, pledge, allocation


def send(donor, allocation, amount="500.00", fee="15.00"):
    tranche = tranches.disbursement_create(
        actor=donor,
        allocation_ids=[allocation.pk],
        amount=D(amount),
        currency=Currency.objects.get(code="USD"),
        channel="hawala",
        fee_amount=D(fee),
    )
    tranche = tranches.disbursement_mark_sent(disbursement_id=tranche.pk, actor=donor)
    ledger.post_disbursement_sent(disbursement=tranche)
    return tranche


def test_a_tranche_sent_and_received_reconciles_with_the_needs_disbursed_total(story, donor):
    org, _staff, need, _pledge, allocation = story
    need_account = account_key(AccountKind.NEED, "AFN", need.pk)
    org_account = account_key(AccountKind.ORGANIZATION, "AFN", org.pk)

    tranche = send(donor, allocation)  # 500 USD of 800: 35000 AFN, 3% fee

    assert balances(need_account, "in_transit:AFN", "fees:AFN") == {
        need_account: D("21000.00"),  # 56000 committed − 35000 sent
        "in_transit:AFN": D("33950.00"),
        "fees:AFN": D("1050.00"),
    }
    assert reconcile().ok, reconcile().render()

    tranche = tranches.disbursement_confirm_receipt(
        disbursement_id=tranche.pk,
        acting_for={org.pk},
        received_amount=D("33000.00"),
        received_currency=Currency.objects.get(code="AFN"),
        difference_reason="hawala rate on the day was 68.1",
    )
    received = ledger.post_disbursement_received(disbursement=tranche)

    assert received.iati_type == IatiTransactionType.DISBURSEMENT
    assert sorted((leg.account.key, leg.amount) for leg in received.legs.all()) == sorted(
        [
            ("in_transit:AFN", D("-33950.00")),
            (org_account, D("33000.00")),
            ("fx:AFN", D("950.00")),  # the day's rate kept 950 AFN
        ]
    )
    assert balances("in_transit:AFN")["in_transit:AFN"] == 0
    report = reconcile()
    assert report.ok, report.render()


def test_a_returned_tranche_puts_the_money_back_on_the_need(story, donor):
    _org, _staff, need, _pledge, allocation = story
    tranche = send(donor, allocation, amount="800.00", fee="0.00")

    tranche = tranches.disbursement_mark_returned(
        disbursement_id=tranche.pk, actor=donor, reason="sent to the wrong branch"
    )
    reversals = ledger.post_disbursement_given_back(disbursement=tranche, reason="returned")

    assert [t.key for t in reversals] == [f"disbursement-sent-reversed:{tranche.pk}"]
    need_account = account_key(AccountKind.NEED, "AFN", need.pk)
    assert balances(need_account)[need_account] == D("56000.00")
    report = reconcile()
    assert report.ok, report.render()


def test_a_refund_leaves_the_organizations_account_for_the_donor(story, donor):
    org, staff, _need, _pledge, allocation = story
    tranche = send(donor, allocation, amount="800.00", fee="0.00")
    tranches.disbursement_confirm_receipt(
        disbursement_id=tranche.pk,
        acting_for={org.pk},
        received_amount=D("56000.00"),
        received_currency=Currency.objects.get(code="AFN"),
    )

    refund = tranches.disbursement_refund(
        disbursement_id=tranche.pk,
        actor=staff,
        acting_for={org.pk},
        amount=D("6000.00"),
        currency=Currency.objects.get(code="AFN"),
        reason="the school closed for the winter",
    )

    posted = LedgerTransaction.objects.get(key=f"disbursement-refund:{refund.pk}")
    org_account = account_key(AccountKind.ORGANIZATION, "AFN", org.pk)
    assert posted.iati_type == IatiTransactionType.DISBURSEMENT
    assert sorted((leg.account.key, leg.amount) for leg in posted.legs.all()) == sorted(
        [(org_account, D("-6000.00")), ("external:AFN", D("6000.00"))]
    )
    assert balances(org_account)[org_account] == D("50000.00")
    report = reconcile()
    assert report.ok, report.render()


def test_the_tranche_services_post_their_own_transactions(story, donor):
    _org, _staff, _need, _pledge, allocation = story
    tranche = tranches.disbursement_create(
        actor=donor,
        allocation_ids=[allocation.pk],
        amount=D("100.00"),
        currency=Currency.objects.get(code="USD"),
        channel="bank",
    )
    tranches.disbursement_mark_sent(disbursement_id=tranche.pk, actor=donor)

    sent = LedgerTransaction.objects.get(key=f"disbursement-sent:{tranche.pk}")
    assert ledger.post_disbursement_sent(disbursement=tranche) == sent  # a repeat posts nothing
    assert reconcile().ok
    tranches.disbursement_mark_failed(disbursement_id=tranche.pk, actor=donor, reason="lost")
    assert LedgerTransaction.objects.filter(key=f"disbursement-sent-reversed:{tranche.pk}").exists()
    assert reconcile().ok
