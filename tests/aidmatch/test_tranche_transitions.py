"""The tranche table, in plain Python: who may move a tranche from which state to which."""

import itertools
from decimal import Decimal

import pytest

from aidmatch.disbursing import refunded_share
from aidmatch.errors import InvalidTransition, NotPermitted
from aidmatch.lifecycle import (
    DisbursementStatus,
    TrancheAction,
    TrancheParty,
    check_tranche_action,
)

S, TA, TP = DisbursementStatus, TrancheAction, TrancheParty

# The README's table, written out: (from, action) -> (to, who).
ALLOWED = {
    (S.SCHEDULED, TA.MARK_SENT): (S.SENT, {TP.DONOR, TP.VERIFIER}),
    (S.SCHEDULED, TA.MARK_FAILED): (S.FAILED, {TP.DONOR, TP.VERIFIER}),
    (S.SENT, TA.CONFIRM_RECEIPT): (S.RECEIVED, {TP.ORGANIZATION}),
    (S.SENT, TA.MARK_FAILED): (S.FAILED, {TP.DONOR, TP.VERIFIER}),
    (S.SENT, TA.MARK_RETURNED): (S.RETURNED, {TP.DONOR, TP.VERIFIER}),
    (S.RECEIVED, TA.REFUND): (S.RECEIVED, {TP.ORGANIZATION}),
}


@pytest.mark.parametrize(("state", "action", "party"), list(itertools.product(S, TA, TP)), ids=str)
def test_each_state_action_and_party(state, action, party):
    entry = ALLOWED.get((state, action))
    if entry is not None and party in entry[1]:
        assert check_tranche_action(state, action, {party}) == entry[0]
        return
    may_ever = any(party in who for (_, a), (_, who) in ALLOWED.items() if a == action)
    with pytest.raises(InvalidTransition if may_ever else NotPermitted):
        check_tranche_action(state, action, {party})


def test_nobody_returns_or_fails_a_received_tranche():
    for action in (TA.MARK_RETURNED, TA.MARK_FAILED):
        with pytest.raises((InvalidTransition, NotPermitted)):
            check_tranche_action(S.RECEIVED, action, set(TP))


def test_a_refunded_share_rounds_up_and_never_exceeds_the_part():
    cent = Decimal("0.01")
    assert refunded_share(Decimal("100.00"), Decimal("6790"), Decimal("1"), cent) == Decimal("0.02")
    assert refunded_share(Decimal("500.00"), Decimal("33000"), Decimal("3300"), cent) == 50
    assert refunded_share(Decimal("100.00"), Decimal("100"), Decimal("100"), cent) == 100
    assert refunded_share(Decimal("100.00"), Decimal("100"), Decimal("0"), cent) == 0
