"""The whole cycle through the portal's pages in Dari, the other parties through the API: the
staff member switches to Dari, creates a need with line items and submits it; a verifier
approves it (API); a donor pledges (API) and matching proposes; the staff member sees the
proposal, the donor commits and sends a hawala tranche (API); the staff member confirms its
receipt in afghanis and files the final report with an evidence file."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from apps.accounts.models import User
from apps.disbursements.models import Disbursement
from apps.fx.models import ExchangeRate
from apps.matching.models import Allocation
from apps.matching.services.runs import match_run_execute
from apps.needs.models import Need
from apps.reports.models import DeliveryReport
from tests.apps.portal.conftest import assert_small
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db


def _dari(response):
    body = response.content.decode()
    assert response.status_code == 200, body[:2000]
    assert '<html lang="fa" dir="rtl">' in body
    assert_small(response)
    return body


def _need_form(**fields):
    deadline = timezone.now().date() + timedelta(days=45)
    data = {
        "title": "Food packages for widow-headed families in Kabul",
        "description": "Flour, rice, oil and pulses for four weeks.",
        "sector": "food_security",
        "province": "AF01",
        "district": "AF0101",
        "location_detail": "Behind the blue mosque, third lane",
        "beneficiaries_women": "40",
        "beneficiaries_girls": "60",
        "beneficiaries_men": "",
        "beneficiaries_boys": "",
        "currency": "AFN",
        "amount": "",
        "urgency": "4",
        "deadline": deadline.isoformat(),
        "items-TOTAL_FORMS": "5",
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "200",
        "items-0-description": "Food package, family of 8, 4 weeks",
        "items-0-unit": "package",
        "items-0-unit_cost": "1500",
        "items-0-quantity": "40",
        "items-1-description": "Transport to the distribution point",
        "items-1-unit": "",
        "items-1-unit_cost": "10000",
        "items-1-quantity": "1",
    }
    return data | fields


def test_the_whole_cycle_in_dari(staff_x, org_x, donor, donor_client, verifier_client):
    staff = Client()
    signed = staff.post("/portal/sign-in", {"email": staff_x.email, "password": PASSWORD})
    assert signed.status_code == 302

    # The staff member switches to Dari: the cookie and their saved language.
    switched = staff.post("/portal/language", {"language": "fa", "next": "/portal/"})
    assert switched.status_code == 302
    assert User.objects.get(pk=staff_x.pk).language == "fa"
    dashboard = _dari(staff.get("/portal/"))
    assert "داشبورد" in dashboard and "نیازمندی جدید" in dashboard

    # A need with two line items: its amount is their sum.
    form = _dari(staff.get("/portal/needs/new"))
    assert "اقلام" in form and "ولایت" in form and "مهلت" in form
    created = staff.post("/portal/needs/new", _need_form())
    assert created.status_code == 302, created.content.decode()[:3000]
    need = Need.objects.get(organization=org_x)
    assert created["Location"] == f"/portal/needs/{need.pk}"
    assert (need.status, need.amount, need.currency_id) == ("draft", Decimal("70000"), "AFN")
    assert [(li.description, li.quantity) for li in need.line_items.all()] == [
        ("Food package, family of 8, 4 weeks", 40),
        ("Transport to the distribution point", 1),
    ]
    assert need.created_by == staff_x
    page = _dari(staff.get(created["Location"]))
    assert "نیازمندی به‌حیث مسوده ذخیره شد." in page and "مسوده" in page
    assert "۷۰٬۰۰۰" in page  # the amount with Afghan digits and separators

    # Submitted through the page, approved by a verifier through the API.
    submitted = staff.post(f"/portal/needs/{need.pk}/submit")
    assert submitted.status_code == 302
    need.refresh_from_db()
    assert need.status == "submitted"
    assert "نیازمندی برای بررسی ارسال شد." in _dari(staff.get(submitted["Location"]))
    approved = verifier_client.post(f"/api/v1/needs/{need.pk}/approve")
    assert approved.status_code == 200, approved.content
    need.refresh_from_db()
    assert need.status == "open"

    # A donor pledges through the API; matching proposes; the dashboard shows the proposal.
    ExchangeRate.objects.create(
        base_id="USD",
        quote_id="AFN",
        rate=Decimal("70.5"),
        date=timezone.now().date(),
        source="UN operational rates",
    )
    pledged = donor_client.post(
        "/api/v1/pledges/", {"amount": "70000.00", "currency": "AFN"}, format="json"
    )
    assert pledged.status_code == 201, pledged.content
    match_run_execute(trigger="manual", mode="full")
    allocation = Allocation.objects.get(need=need)
    assert allocation.status == "proposed"
    dashboard = _dari(staff.get("/portal/"))
    assert "پیشنهادشده" in dashboard and "Dana Donor" in dashboard  # as the API shows donors

    # The donor commits and sends a hawala tranche with a fee (API).
    assert donor_client.post(f"/api/v1/allocations/{allocation.pk}/commit").status_code == 200
    tranche = donor_client.post(
        "/api/v1/disbursements/",
        {
            "allocations": [str(allocation.pk)],
            "amount": str(allocation.amount),
            "currency": "AFN",
            "channel": "hawala",
            "provider": "Kabul hawaladar",
            "fee_amount": "700.00",
        },
        format="json",
    )
    assert tranche.status_code == 201, tranche.content
    tranche_id = tranche.json()["id"]
    sent = donor_client.post(f"/api/v1/disbursements/{tranche_id}/mark-sent", {}, format="json")
    assert sent.status_code == 200
    dashboard = _dari(staff.get("/portal/"))
    assert "اقساط در راه" in dashboard and f"/portal/tranches/{tranche_id}/confirm" in dashboard

    # Receipt in afghanis: a difference needs a reason (the service's rule), then it is kept.
    confirm = _dari(staff.get(f"/portal/tranches/{tranche_id}/confirm"))
    assert "تأیید دریافت قسط" in confirm and "۶۹٬۳۰۰" in confirm  # expected after the fee
    no_reason = staff.post(f"/portal/tranches/{tranche_id}/confirm", {"received_amount": "69000"})
    assert no_reason.status_code == 422
    assert Disbursement.objects.get(pk=tranche_id).status == "sent"
    assert 'class="errorlist' in no_reason.content.decode()
    confirmed = staff.post(
        f"/portal/tranches/{tranche_id}/confirm",
        {"received_amount": "69000", "difference_reason": "نرخ حواله در آن روز کمتر بود"},
    )
    assert confirmed.status_code == 302, confirmed.content.decode()[:3000]
    received = Disbursement.objects.get(pk=tranche_id)
    assert (received.status, received.received_amount) == ("received", Decimal("69000"))
    assert received.received_currency_id == "AFN"
    assert received.difference_reason == "نرخ حواله در آن روز کمتر بود"
    assert "دریافت تأیید شد." in _dari(staff.get(confirmed["Location"]))

    # The final report with an evidence file.
    line_items = list(need.line_items.all())
    report_form = _dari(staff.get(f"/portal/needs/{need.pk}/report"))
    assert "ثبت گزارش تحویل" in report_form and 'enctype="multipart/form-data"' in report_form
    today = timezone.now().date()
    filed = staff.post(
        f"/portal/needs/{need.pk}/report",
        {
            "period_start": (today - timedelta(days=28)).isoformat(),
            "period_end": today.isoformat(),
            "reached_women": "40",
            "reached_girls": "60",
            "households": "40",
            f"item_{line_items[0].pk}": "40",
            f"item_{line_items[1].pk}": "1",
            "narrative": "۴۰ خانواده بسته‌های غذایی چهار هفته را دریافت کردند.",
            "amount_spent": "69000",
            "final": "on",
            "evidence": SimpleUploadedFile("receipts.pdf", b"%PDF-1.4 receipts", "application/pdf"),
        },
    )
    assert filed.status_code == 302, filed.content.decode()[:3000]
    report = DeliveryReport.objects.get(need=need)
    assert (report.final, report.amount_spent, report.households) == (True, Decimal("69000"), 40)
    assert sorted(i.quantity for i in report.items.all()) == [1, 40]
    (evidence,) = report.evidence.all()
    assert (evidence.filename, evidence.content_type) == ("receipts.pdf", "application/pdf")
    need.refresh_from_db()
    assert need.status == "completed"
    page = _dari(staff.get(filed["Location"]))
    assert "گزارش ثبت شد." in page and "تکمیل‌شده" in page
    assert re.search(r"۱ فایل سند", page)
