"""Tranches: schedule, send, confirm, fail, return — and never more than is owed."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from apps.disbursements.models import Disbursement
from apps.matching.models import Allocation
from apps.matching.services.allocations import allocation_commit
from tests.conftest import client_for
from tests.factories import (
    MembershipFactory,
    NeedFactory,
    OrganizationFactory,
    PledgeFactory,
    propose,
)


def committed(pledge, need, amount, need_amount=None):
    allocation = propose(pledge, need, Decimal(amount), Decimal(need_amount or amount))
    return allocation_commit(allocation_id=allocation.pk)


@pytest.fixture
def story(db, donor):
    org = OrganizationFactory(name="Kandahar Bread for Families")
    staff = MembershipFactory(organization=org).user
    need = NeedFactory(organization=org, amount=Decimal("70000.00"), currency_id="AFN")
    pledge = PledgeFactory(donor=donor, amount=Decimal("1000.00"), currency_id="USD")
    allocation = propose(pledge, need, Decimal("800.00"), Decimal("56000.00"))
    Allocation.objects.filter(pk=allocation.pk).update(rate=Decimal("70"))
    allocation = allocation_commit(allocation_id=allocation.pk)
    return org, staff, need, pledge, allocation


def _tranche(client, allocation, amount="500.00", **extra):
    body = {
        "allocations": [str(allocation.pk)],
        "amount": amount,
        "currency": "USD",
        "channel": "hawala",
        "provider": "Sarai Shahzada hawaladar",
        "fee_amount": "15.00",
        **extra,
    }
    return client.post("/api/v1/disbursements/", body, format="json")


def test_a_hawala_tranche_from_schedule_to_receipt(story, donor_client):
    _org, staff, need, pledge, allocation = story

    created = _tranche(donor_client, allocation)
    assert created.status_code == 201, created.content
    tranche = created.json()
    assert tranche["status"] == "scheduled"
    assert tranche["lines"][0]["need_amount"] == "35000.00"

    sent = donor_client.post(f"/api/v1/disbursements/{tranche['id']}/mark-sent", {}, format="json")
    assert sent.json()["status"] == "sent"
    pledge.refresh_from_db()
    need.refresh_from_db()
    assert (pledge.disbursed_amount, need.disbursed_amount) == (Decimal("500"), Decimal("35000"))

    staff_client = client_for(staff)
    no_reason = staff_client.post(
        f"/api/v1/disbursements/{tranche['id']}/confirm-receipt",
        {"received_amount": "33000.00", "received_currency": "AFN"},
        format="json",
    )
    assert no_reason.status_code == 422  # expected 33950.00 after the 3% fee
    confirmed = staff_client.post(
        f"/api/v1/disbursements/{tranche['id']}/confirm-receipt",
        {
            "received_amount": "33000.00",
            "received_currency": "AFN",
            "difference_reason": "hawala rate on the day was 68.1",
        },
        format="json",
    )
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["expected_received_amount"] == "33950.00"
    allocation.refresh_from_db()
    assert allocation.status == "disbursing" and allocation.disbursed_amount == Decimal("500")


def test_a_tranche_cannot_exceed_what_is_owed(story, donor_client):
    *_, allocation = story

    response = _tranche(donor_client, allocation, amount="800.01")

    assert response.status_code == 422
    assert not Disbursement.objects.exists()


def test_a_failed_tranche_gives_the_money_back(story, donor_client):
    _org, _staff, _need, pledge, allocation = story
    tranche = _tranche(donor_client, allocation, amount="800.00").json()
    donor_client.post(f"/api/v1/disbursements/{tranche['id']}/mark-sent", {}, format="json")

    failed = donor_client.post(
        f"/api/v1/disbursements/{tranche['id']}/mark-failed",
        {"reason": "agent could not deliver"},
        format="json",
    )

    assert failed.json()["status"] == "failed"
    allocation.refresh_from_db()
    pledge.refresh_from_db()
    assert allocation.status == "committed" and allocation.disbursed_amount == 0
    assert pledge.disbursed_amount == 0
    assert _tranche(donor_client, allocation, amount="800.00").status_code == 201


def test_only_the_receiving_organization_confirms(story, donor_client):
    *_, allocation = story
    tranche = _tranche(donor_client, allocation).json()
    donor_client.post(f"/api/v1/disbursements/{tranche['id']}/mark-sent", {}, format="json")

    response = donor_client.post(
        f"/api/v1/disbursements/{tranche['id']}/confirm-receipt",
        {"received_amount": "33950.00", "received_currency": "AFN"},
        format="json",
    )

    assert response.status_code == 403


def test_someone_elses_allocation_is_a_404(story):
    *_, allocation = story
    stranger = client_for(PledgeFactory().donor)

    assert _tranche(stranger, allocation).status_code == 404


def test_confirm_receipt_retried_with_the_same_key_confirms_once(story, donor_client):
    _org, staff, _need, _pledge, allocation = story
    tranche = _tranche(donor_client, allocation).json()
    donor_client.post(f"/api/v1/disbursements/{tranche['id']}/mark-sent", {}, format="json")
    key = str(uuid.uuid4())
    body = {"received_amount": "33950.00", "received_currency": "AFN"}
    staff_client = client_for(staff)

    first = staff_client.post(
        f"/api/v1/disbursements/{tranche['id']}/confirm-receipt",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    again = staff_client.post(
        f"/api/v1/disbursements/{tranche['id']}/confirm-receipt",
        body,
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )

    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


@pytest.mark.django_db(transaction=True)
def test_two_hundred_concurrent_tranches_never_exceed_the_allocations(donor):
    org = OrganizationFactory()
    allocations = [
        committed(
            PledgeFactory(donor=donor, amount=Decimal("100.00")),
            NeedFactory(organization=org),
            "100.00",
        )
        for _ in range(3)
    ]
    clients = [client_for(donor) for _ in range(200)]

    def send(i):
        try:
            return _tranche(
                clients[i], allocations[i % 3], amount="7.00", fee_amount="0.00"
            ).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(send, range(200)))

    assert set(statuses) <= {201, 422}
    for allocation in allocations:
        allocation.refresh_from_db()
        assert allocation.disbursed_amount <= allocation.amount
        assert allocation.disbursed_amount == Decimal("98.00")  # 14 tranches of 7.00 fit in 100
    assert statuses.count(201) == 42
