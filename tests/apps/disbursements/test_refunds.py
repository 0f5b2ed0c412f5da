"""Refunds: money the receiving organization gives back after receipt. At most what it received
less what it refunded already, never so much that spent would exceed received; shown in the
funding page and the donor's trace; posted to the ledger, which still reconciles."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from apps.disbursements import services as tranches
from apps.disbursements.models import Disbursement, Refund
from apps.ledger.models import LedgerTransaction
from apps.ledger.reconcile import reconcile
from apps.matching.models import Allocation
from apps.matching.services.allocations import allocation_commit
from apps.reference.models import Currency
from tests.conftest import client_for
from tests.factories import MembershipFactory, NeedFactory, OrganizationFactory, PledgeFactory
from tests.factories import propose as proposal

D = Decimal


def received_tranche(donor, *, amount="100.00"):
    """A USD need of an organization, 100.00 USD sent and received in full."""
    org = OrganizationFactory(name="Herat Family Food Relief")
    staff = MembershipFactory(organization=org).user
    need = NeedFactory(organization=org, amount=D("1000.00"), currency_id="USD")
    pledge = PledgeFactory(donor=donor, amount=D("1000.00"), currency_id="USD")
    allocation = allocation_commit(allocation_id=proposal(pledge, need, D(amount), D(amount)).pk)
    usd = Currency.objects.get(code="USD")
    tranche = tranches.disbursement_create(
        actor=donor, allocation_ids=[allocation.pk], amount=D(amount), currency=usd, channel="bank"
    )
    tranches.disbursement_mark_sent(disbursement_id=tranche.pk, actor=donor)
    tranches.disbursement_confirm_receipt(
        disbursement_id=tranche.pk,
        acting_for={org.pk},
        received_amount=D(amount),
        received_currency=usd,
    )
    return org, staff, need, pledge, tranche


def refund(client, tranche, amount, currency="USD", **extra):
    body = {"amount": amount, "currency": currency, "reason": "a family moved away", **extra}
    return client.post(f"/api/v1/disbursements/{tranche.pk}/refunds", body, format="json")


def spend(client, need, amount):
    return client.post(
        "/api/v1/reports/",
        {
            "need": str(need.pk),
            "period_start": "2026-01-01",
            "period_end": "2026-01-31",
            "amount_spent": amount,
        },
        format="json",
    )


@pytest.mark.django_db
def test_a_refund_shows_in_the_tranche_the_funding_page_and_the_trace(donor, donor_client):
    org, staff, _need, pledge, tranche = received_tranche(donor)
    staff_client = client_for(staff)

    response = refund(staff_client, tranche, "30.00")

    assert response.status_code == 201, response.content
    body = response.json()
    tranche.refresh_from_db()
    refund_date = str(tranche.received_date)  # today, in Kabul
    assert (body["amount"], body["currency"], body["refund_date"]) == ("30.00", "USD", refund_date)
    shown = staff_client.get(f"/api/v1/disbursements/{tranche.pk}").json()
    assert shown["status"] == "received"
    assert shown["refunded_amount"] == "30.00"
    assert [r["amount"] for r in shown["refunds"]] == ["30.00"]
    (row,) = staff_client.get(f"/api/v1/organizations/{org.pk}/funding").json()["by_need"]
    assert (row["expected"], row["received"], row["refunded"]) == ("100.00", "70.00", "30.00")
    trace = donor_client.get(f"/api/v1/pledges/{pledge.pk}/trace").json()
    assert (trace["received_amount"], trace["refunded_amount"]) == ("70.00", "30.00")
    (only,) = trace["allocations"][0]["tranches"]
    assert only["refunded_amount"] == "30.00"
    assert only["refunds"] == [
        {
            "amount": "30.00",
            "currency": "USD",
            "refund_date": refund_date,
            "reason": "a family moved away",
        }
    ]
    posted = LedgerTransaction.objects.get(key=f"disbursement-refund:{body['id']}")
    assert sorted(leg.amount for leg in posted.legs.all()) == [D("-30.00"), D("30.00")]


@pytest.mark.django_db
def test_no_more_than_was_received_can_be_refunded(donor):
    _org, staff, _need, _pledge, tranche = received_tranche(donor)
    staff_client = client_for(staff)

    too_much = refund(staff_client, tranche, "100.01")
    assert too_much.status_code == 422, too_much.content
    assert refund(staff_client, tranche, "60.00").status_code == 201
    again = refund(staff_client, tranche, "40.01")

    assert again.status_code == 422
    assert again.json()["detail"] == (
        "At most 40.00 USD can be refunded: 100.00 received, 60.00 already refunded."
    )
    assert refund(staff_client, tranche, "40.00").status_code == 201
    tranche.refresh_from_db()
    assert tranche.refunded_amount == D("100.00")
    assert Refund.objects.filter(disbursement=tranche).count() == 2


@pytest.mark.django_db
def test_a_refund_is_in_the_currency_received_and_not_in_the_future(donor):
    _org, staff, _need, _pledge, tranche = received_tranche(donor)
    staff_client = client_for(staff)

    assert refund(staff_client, tranche, "10.00", currency="AFN").status_code == 422
    assert refund(staff_client, tranche, "10.00", refund_date="2099-01-01").status_code == 422
    assert refund(staff_client, tranche, "10.001").status_code == 400
    assert not Refund.objects.exists()


@pytest.mark.django_db
def test_a_refund_never_leaves_spent_above_received(donor):
    org, staff, need, _pledge, tranche = received_tranche(donor)
    staff_client = client_for(staff)
    assert spend(staff_client, need, "80.00").status_code == 201

    refused = refund(staff_client, tranche, "20.01")

    assert refused.status_code == 422, refused.content
    assert "80.00 USD its reports say was spent" in refused.json()["detail"]
    assert refund(staff_client, tranche, "20.00").status_code == 201
    (row,) = staff_client.get(f"/api/v1/organizations/{org.pk}/funding").json()["by_need"]
    assert (row["received"], row["spent"]) == ("80.00", "80.00")


@pytest.mark.django_db
def test_a_report_cannot_spend_more_than_was_received_net_of_refunds(donor):
    org, staff, need, _pledge, tranche = received_tranche(donor)
    staff_client = client_for(staff)
    assert refund(staff_client, tranche, "30.00").status_code == 201
    assert spend(staff_client, need, "50.00").status_code == 201

    refused = spend(staff_client, need, "20.01")

    assert refused.status_code == 422, refused.content
    assert refused.json()["errors"] == {"amount_spent": ["At most 20.00."]}
    assert spend(staff_client, need, "20.00").status_code == 201
    (row,) = staff_client.get(f"/api/v1/organizations/{org.pk}/funding").json()["by_need"]
    assert (row["received"], row["spent"]) == ("70.00", "70.00")


@pytest.mark.django_db
def test_spending_with_nothing_received_is_refused(donor):
    org = OrganizationFactory()
    staff = MembershipFactory(organization=org).user
    need = NeedFactory(organization=org)

    response = spend(client_for(staff), need, "1.00")

    assert response.status_code == 422
    assert spend(client_for(staff), need, "0").status_code == 201  # no spending: fine


@pytest.mark.django_db
def test_a_refund_retried_with_the_same_key_is_recorded_once(donor):
    _org, staff, _need, _pledge, tranche = received_tranche(donor)
    staff_client = client_for(staff)
    key = str(uuid.uuid4())

    first, again = (
        staff_client.post(
            f"/api/v1/disbursements/{tranche.pk}/refunds",
            {"amount": "10.00", "currency": "USD", "reason": "a family moved away"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )
        for _ in range(2)
    )

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    tranche.refresh_from_db()
    assert tranche.refunded_amount == D("10.00")
    assert Refund.objects.count() == 1


@pytest.mark.django_db
def test_a_refund_of_money_received_in_another_currency_counts_its_share(donor, donor_client):
    """500 USD for an AFN need at 70 (35000 AFN), 33000 AFN received; 3300 AFN (a tenth)
    refunded: the need has received a tenth less, the pledge's trace too."""
    org = OrganizationFactory()
    staff = MembershipFactory(organization=org).user
    need = NeedFactory(organization=org, amount=D("70000.00"), currency_id="AFN")
    pledge = PledgeFactory(donor=donor, amount=D("1000.00"), currency_id="USD")
    proposed = proposal(pledge, need, D("800.00"), D("56000.00"))
    Allocation.objects.filter(pk=proposed.pk).update(rate=D("70"))
    allocation = allocation_commit(allocation_id=proposed.pk)
    tranche = tranches.disbursement_create(
        actor=donor,
        allocation_ids=[allocation.pk],
        amount=D("500.00"),
        currency=Currency.objects.get(code="USD"),
        channel="hawala",
    )
    tranches.disbursement_mark_sent(disbursement_id=tranche.pk, actor=donor)
    tranches.disbursement_confirm_receipt(
        disbursement_id=tranche.pk,
        acting_for={org.pk},
        received_amount=D("33000.00"),
        received_currency=Currency.objects.get(code="AFN"),
        difference_reason="rate on the day",
    )
    staff_client = client_for(staff)

    assert refund(staff_client, tranche, "3300.00", currency="AFN").status_code == 201

    (row,) = staff_client.get(f"/api/v1/organizations/{org.pk}/funding").json()["by_need"]
    assert (row["received"], row["refunded"]) == ("31500.00", "3500.00")
    trace = donor_client.get(f"/api/v1/pledges/{pledge.pk}/trace").json()
    assert (trace["received_amount"], trace["refunded_amount"]) == ("450.00", "50.00")


@pytest.mark.django_db(transaction=True)
def test_concurrent_refunds_never_exceed_what_was_received(donor):
    _org, staff, _need, _pledge, tranche = received_tranche(donor)
    clients = [client_for(staff) for _ in range(30)]

    def one(i):
        try:
            return refund(clients[i], tranche, "7.00").status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(one, range(30)))

    assert sorted(set(statuses)) == [201, 422]
    assert statuses.count(201) == 14  # 14 × 7.00 = 98.00 of 100.00
    tranche = Disbursement.objects.get(pk=tranche.pk)
    assert tranche.refunded_amount == D("98.00")
    assert sum(r.amount for r in Refund.objects.filter(disbursement=tranche)) == D("98.00")
    report = reconcile()
    assert report.ok, report.render()
