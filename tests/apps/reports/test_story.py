"""The whole story through the API: pledge → proposal → commit → hawala tranche with a fee →
receipt in AFN → final report of families fed → the donor's trace and the organization's
funding view."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.matching.models import Allocation
from tests.conftest import client_for
from tests.factories import MembershipFactory, NeedFactory, OrganizationFactory, propose

pytestmark = pytest.mark.django_db


@pytest.fixture
def food_program(db):
    org = OrganizationFactory(name="Herat Family Food Relief", province_id="AF32")
    staff = MembershipFactory(organization=org).user
    need = NeedFactory(organization=org, amount=Decimal("70000.00"), currency_id="AFN")
    from apps.needs.models import NeedLineItem

    NeedLineItem.objects.create(
        need=need,
        position=1,
        description="Food package, family of 8, 4 weeks",
        unit_cost=Decimal("1750.00"),
        quantity=40,
        amount=Decimal("70000.00"),
    )
    return org, staff, need


def test_pledge_to_families_fed(food_program, donor, donor_client):
    org, staff, need = food_program
    staff_client = client_for(staff)
    pledge_id = donor_client.post(
        "/api/v1/pledges/", {"amount": "1000.00", "currency": "USD"}, format="json"
    ).json()["id"]
    from apps.pledges.models import Pledge

    allocation = propose(
        Pledge.objects.get(pk=pledge_id), need, Decimal("1000.00"), Decimal("70000.00")
    )
    Allocation.objects.filter(pk=allocation.pk).update(rate=Decimal("70"))

    assert (
        donor_client.post(f"/api/v1/allocations/{allocation.pk}/commit").json()["status"]
        == "committed"
    )
    tranche = donor_client.post(
        "/api/v1/disbursements/",
        {
            "allocations": [str(allocation.pk)],
            "amount": "1000.00",
            "currency": "USD",
            "channel": "hawala",
            "provider": "Herat hawaladar",
            "fee_amount": "30.00",
        },
        format="json",
    ).json()
    donor_client.post(f"/api/v1/disbursements/{tranche['id']}/mark-sent", {}, format="json")
    receipt = staff_client.post(
        f"/api/v1/disbursements/{tranche['id']}/confirm-receipt",
        {"received_amount": "67900.00", "received_currency": "AFN"},
        format="json",
    )
    assert receipt.status_code == 200, receipt.content
    line_item = need.line_items.get().pk
    report = staff_client.post(
        "/api/v1/reports/",
        {
            "need": str(need.pk),
            "period_start": str(timezone.now().date() - timedelta(days=28)),
            "period_end": str(timezone.now().date()),
            "reached_women": 80,
            "reached_girls": 120,
            "reached_men": 40,
            "reached_boys": 110,
            "households": 40,
            "items": [{"line_item": line_item, "quantity": 40}],
            "narrative": "40 families received four weeks of food.",
            "amount_spent": "67900.00",
            "final": True,
        },
        format="json",
    )
    assert report.status_code == 201, report.content
    evidence = staff_client.post(
        f"/api/v1/reports/{report.json()['id']}/evidence",
        {"file": SimpleUploadedFile("receipts.pdf", b"%PDF-1.4 receipts", "application/pdf")},
        format="multipart",
    )
    assert evidence.status_code == 201, evidence.content

    need.refresh_from_db()
    assert need.status == "completed"
    trace = donor_client.get(f"/api/v1/pledges/{pledge_id}/trace").json()
    assert trace["committed_amount"] == trace["disbursed_amount"] == "1000.00"
    assert trace["received_amount"] == "1000.00"
    (only,) = trace["allocations"]
    assert only["tranches"][0]["received_amount"] == "67900.00"
    assert only["reports"][0]["reached"]["households"] == 40
    assert only["reports"][0]["items"] == [
        {"item": "Food package, family of 8, 4 weeks", "quantity": 40}
    ]
    donor_view = donor_client.get(f"/api/v1/reports/{report.json()['id']}").json()
    assert "evidence" not in donor_view
    funding = staff_client.get(f"/api/v1/organizations/{org.pk}/funding").json()
    assert funding["by_need"] == [
        {
            "need": str(need.pk),
            "title": need.title,
            "currency": "AFN",
            "expected": "70000.00",
            "received": "70000.00",
            "refunded": "0.00",
            "spent": "67900.00",
        }
    ]
    assert donor_client.get(f"/api/v1/organizations/{org.pk}/funding").status_code == 404


def test_evidence_is_encrypted_at_rest_and_only_insiders_download_it(food_program, donor_client):
    _, staff, need = food_program
    staff_client = client_for(staff)
    report_id = staff_client.post(
        "/api/v1/reports/",
        {"need": str(need.pk), "period_start": "2026-01-01", "period_end": "2026-01-31"},
        format="json",
    ).json()["id"]
    content = b"names of the families: confidential"
    evidence = staff_client.post(
        f"/api/v1/reports/{report_id}/evidence",
        {"file": SimpleUploadedFile("list.txt", content, "text/plain")},
        format="multipart",
    ).json()

    from apps.reports.models import EvidenceFile

    assert content not in bytes(EvidenceFile.objects.get().blob)
    download = staff_client.get(f"/api/v1/reports/{report_id}/evidence/{evidence['id']}")
    assert download.status_code == 200 and download.content == content
    assert (
        donor_client.get(f"/api/v1/reports/{report_id}/evidence/{evidence['id']}").status_code
        == 404
    )


def test_a_report_for_another_organizations_need_is_404(food_program, admin_y):
    _, _, need = food_program

    response = client_for(admin_y).post(
        "/api/v1/reports/",
        {"need": str(need.pk), "period_start": "2026-01-01", "period_end": "2026-01-31"},
        format="json",
    )

    assert response.status_code == 404


def test_money_spent_in_a_report_is_posted_as_expenditure(food_program, donor):
    from apps.ledger.models import LedgerTransaction

    org, staff, need = food_program
    receive(donor, org, need, "70000.00")
    report = (
        client_for(staff)
        .post(
            "/api/v1/reports/",
            {
                "need": str(need.pk),
                "period_start": "2026-01-01",
                "period_end": "2026-01-31",
                "amount_spent": "1200.00",
            },
            format="json",
        )
        .json()
    )

    posted = LedgerTransaction.objects.get(key=f"expenditure-reported:{report['id']}")
    assert posted.iati_type == 4
    assert sorted(str(leg.amount) for leg in posted.legs.all()) == ["-1200.0000", "1200.0000"]


def receive(donor, org, need, amount, *, fee="0.00"):
    """A committed allocation of ``amount`` (need currency, pledged in it too) sent and
    confirmed received in full: the tranche."""
    from apps.disbursements import services as tranches
    from apps.matching.services.allocations import allocation_commit
    from apps.reference.models import Currency
    from tests.factories import PledgeFactory

    pledge = PledgeFactory(donor=donor, amount=Decimal(amount), currency_id=need.currency_id)
    allocation = allocation_commit(
        allocation_id=propose(pledge, need, Decimal(amount), Decimal(amount)).pk
    )
    currency = Currency.objects.get(code=need.currency_id)
    tranche = tranches.disbursement_create(
        actor=donor,
        allocation_ids=[allocation.pk],
        amount=Decimal(amount),
        currency=currency,
        channel="bank",
        fee_amount=Decimal(fee),
    )
    tranches.disbursement_mark_sent(disbursement_id=tranche.pk, actor=donor)
    return tranches.disbursement_confirm_receipt(
        disbursement_id=tranche.pk,
        acting_for={org.pk},
        received_amount=Decimal(amount) - Decimal(fee),
        received_currency=currency,
    )
