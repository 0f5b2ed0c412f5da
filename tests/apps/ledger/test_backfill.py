"""A database that predates the ledger: `manage.py ledger_backfill` posts the openings of its
pledges and commitments, after which it reconciles; a second run posts nothing."""

from decimal import Decimal

from django.core.management import call_command
from django.db.models import F

from apps.ledger.models import LedgerTransaction
from apps.ledger.reconcile import reconcile
from apps.matching.models import Allocation
from apps.needs.models import Need
from apps.pledges.models import Pledge
from tests.factories import NeedFactory, PledgeFactory, propose

D = Decimal


def committed_before_the_ledger(allocation) -> None:
    """What allocation_commit did before it posted to the ledger."""
    Allocation.objects.filter(pk=allocation.pk).update(status="committed")
    Pledge.objects.filter(pk=allocation.pledge_id).update(
        proposed_amount=F("proposed_amount") - allocation.amount,
        committed_amount=F("committed_amount") + allocation.amount,
    )
    Need.objects.filter(pk=allocation.need_id).update(
        proposed_amount=F("proposed_amount") - allocation.need_amount,
        committed_amount=F("committed_amount") + allocation.need_amount,
    )


def test_backfill_opens_pledges_and_commitments_made_before_the_ledger(donor, capsys):
    reduced = PledgeFactory(
        donor=donor, amount=D("1000.00"), original_amount=D("1200.00"), ledger=False
    )
    untouched = PledgeFactory(donor=donor, amount=D("50.00"), ledger=False)
    afn_need = NeedFactory(amount=D("100000.00"), currency_id="AFN")
    committed_before_the_ledger(propose(reduced, afn_need, D("300.00"), D("21000.00")))
    propose(reduced, NeedFactory(), D("100.00"))  # a proposal: nothing to post
    assert {d.id for d in reconcile().differences} >= {str(reduced.pk), str(untouched.pk)}

    call_command("ledger_backfill")
    call_command("ledger_backfill")

    out = capsys.readouterr().out.splitlines()
    assert out == [
        "Opened 2 pledge(s) and 1 commitment(s).",
        "Opened 0 pledge(s) and 0 commitment(s).",
    ]
    assert sorted(
        LedgerTransaction.objects.filter(pledge=reduced).values_list("key", flat=True)
    ) == sorted(
        [
            f"pledge-made:{reduced.pk}",
            f"pledge-reduced:{reduced.pk}:1000.00",
            f"allocation-committed:{Allocation.objects.get(status='committed').pk}",
        ]
    )
    report = reconcile()
    assert report.ok, report.render()
