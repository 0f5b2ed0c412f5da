"""Who may move a tranche from which state to which: aidmatch.lifecycle.TRANCHE_TRANSITIONS,
enforced by the services under the tranche's lock, for every (state, action, caller)."""

import itertools
from decimal import Decimal

import pytest

from aidmatch.lifecycle import (
    TRANCHE_TRANSITIONS,
    DisbursementStatus,
    TrancheAction,
    TrancheParty,
    tranche_parties_for,
)
from apps.disbursements import services as tranches
from apps.disbursements.models import Disbursement, Refund
from apps.matching.services.allocations import allocation_commit
from apps.reference.models import Currency
from tests.conftest import client_for
from tests.factories import MembershipFactory, NeedFactory, OrganizationFactory, PledgeFactory
from tests.factories import propose as proposal

pytestmark = pytest.mark.django_db
S, TA, TP = DisbursementStatus, TrancheAction, TrancheParty

BODIES = {
    TA.MARK_SENT: {},
    TA.CONFIRM_RECEIPT: {"received_amount": "100.00", "received_currency": "USD"},
    TA.MARK_FAILED: {"reason": "the agent could not deliver"},
    TA.MARK_RETURNED: {"reason": "sent to the wrong branch"},
    TA.REFUND: {"amount": "10.00", "currency": "USD", "reason": "a family moved away"},
}
CALLERS = (TP.DONOR, TP.ORGANIZATION, TP.VERIFIER)  # SYSTEM calls no API: tests/aidmatch


def a_world(donor):
    org = OrganizationFactory(name="Kandahar Bread for Families")
    staff = MembershipFactory(organization=org).user
    need = NeedFactory(organization=org, amount=Decimal("1000.00"), currency_id="USD")
    pledge = PledgeFactory(donor=donor, amount=Decimal("1000.00"), currency_id="USD")
    allocation = allocation_commit(
        allocation_id=proposal(pledge, need, Decimal("100.00"), Decimal("100.00")).pk
    )
    return org, staff, need, allocation


def tranche_in(state, donor, org, allocation) -> Disbursement:
    """A 100.00 USD tranche (no fee) brought to ``state`` by the services."""
    usd = Currency.objects.get(code="USD")
    tranche = tranches.disbursement_create(
        actor=donor,
        allocation_ids=[allocation.pk],
        amount=Decimal("100.00"),
        currency=usd,
        channel="bank",
    )
    if state == S.FAILED:
        tranches.disbursement_mark_failed(disbursement_id=tranche.pk, actor=donor, reason="x")
    if state in (S.SENT, S.RECEIVED, S.RETURNED):
        tranches.disbursement_mark_sent(disbursement_id=tranche.pk, actor=donor)
    if state == S.RECEIVED:
        tranches.disbursement_confirm_receipt(
            disbursement_id=tranche.pk,
            acting_for={org.pk},
            received_amount=Decimal("100.00"),
            received_currency=usd,
        )
    if state == S.RETURNED:
        tranches.disbursement_mark_returned(disbursement_id=tranche.pk, actor=donor, reason="x")
    tranche.refresh_from_db()
    assert tranche.status == state
    return tranche


def expected_outcome(state, action, party) -> tuple[int, DisbursementStatus]:
    """What the table says: (HTTP status, the tranche's state afterwards)."""
    if party not in tranche_parties_for(action):
        return 403, state
    entry = TRANCHE_TRANSITIONS.get((state, action))
    if entry is None:
        return 409, state
    target, allowed = entry
    if party not in allowed:
        return 403, state
    return (201 if action == TA.REFUND else 200), target


@pytest.mark.parametrize(
    ("state", "action", "party"), list(itertools.product(S, TA, CALLERS)), ids=str
)
def test_every_state_action_and_caller_obeys_the_table(state, action, party, donor, verifier):
    org, staff, _need, allocation = a_world(donor)
    tranche = tranche_in(state, donor, org, allocation)
    caller = {TP.DONOR: donor, TP.ORGANIZATION: staff, TP.VERIFIER: verifier}[party]
    code, after = expected_outcome(state, action, party)

    response = client_for(caller).post(
        f"/api/v1/disbursements/{tranche.pk}/{action}", BODIES[action], format="json"
    )

    assert response.status_code == code, response.content
    tranche.refresh_from_db()
    assert tranche.status == after
    if code >= 400:
        body = response.json()
        assert body["status"] == code
        assert body["code"] == ("invalid_transition" if code == 409 else "permission_denied")
    assert Refund.objects.filter(disbursement=tranche).exists() == (
        action == TA.REFUND and code == 201
    )


def test_a_donor_cannot_undo_a_receipt_the_organization_spent(donor, donor_client):
    """The attack of issue 9: confirm receipt, report spending, then the donor marks the
    tranche returned. It answered 200 and the funding page showed received 0.00, spent 100.00."""
    org, staff, need, allocation = a_world(donor)
    tranche = tranche_in(S.SENT, donor, org, allocation)
    staff_client = client_for(staff)
    confirmed = staff_client.post(
        f"/api/v1/disbursements/{tranche.pk}/confirm-receipt",
        BODIES[TA.CONFIRM_RECEIPT],
        format="json",
    )
    assert confirmed.status_code == 200, confirmed.content
    report = staff_client.post(
        "/api/v1/reports/",
        {
            "need": str(need.pk),
            "period_start": "2026-01-01",
            "period_end": "2026-01-31",
            "amount_spent": "100.00",
        },
        format="json",
    )
    assert report.status_code == 201, report.content
    funding_before = staff_client.get(f"/api/v1/organizations/{org.pk}/funding").json()

    undo = donor_client.post(
        f"/api/v1/disbursements/{tranche.pk}/mark-returned",
        {"reason": "changed my mind"},
        format="json",
    )

    assert undo.status_code == 409, undo.content
    assert undo.headers["Content-Type"].startswith("application/problem+json")
    assert undo.json()["detail"] == "A tranche in state 'received' cannot become 'returned'."
    tranche.refresh_from_db()
    assert tranche.status == S.RECEIVED
    funding = staff_client.get(f"/api/v1/organizations/{org.pk}/funding").json()
    assert funding == funding_before
    (row,) = funding["by_need"]
    assert (row["received"], row["spent"]) == ("100.00", "100.00")
