"""Filing a report in the portal: the API's checks on the report and on its file, in one
transaction (a refused file files no report)."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.reports.models import DeliveryReport
from tests.apps.portal.conftest import signed_in

pytestmark = pytest.mark.django_db


def _report(**fields):
    today = timezone.now().date()
    return {
        "period_start": (today - timedelta(days=7)).isoformat(),
        "period_end": today.isoformat(),
        "households": "12",
        "narrative": "Twelve families received food.",
    } | fields


def test_an_empty_evidence_file_is_refused_and_no_report_is_filed(staff_x, need_x):
    client = signed_in(staff_x)

    refused = client.post(
        f"/portal/needs/{need_x.pk}/report",
        _report(evidence=SimpleUploadedFile("empty.jpg", b"", "image/jpeg")),
    )

    assert refused.status_code == 422
    assert "The submitted file is empty." in refused.content.decode()  # the API's words
    assert not DeliveryReport.objects.filter(need=need_x).exists()


def test_spending_more_than_was_received_is_refused(staff_x, need_x):
    client = signed_in(staff_x, "ps")

    refused = client.post(f"/portal/needs/{need_x.pk}/report", _report(amount_spent="100"))

    assert refused.status_code == 422
    assert '<html lang="ps" dir="rtl">' in refused.content.decode()
    assert not DeliveryReport.objects.filter(need=need_x).exists()


def test_a_report_without_a_file_is_filed(staff_x, need_x):
    client = signed_in(staff_x)

    filed = client.post(f"/portal/needs/{need_x.pk}/report", _report())

    assert filed.status_code == 302
    report = DeliveryReport.objects.get(need=need_x)
    assert (report.households, report.final, report.created_by) == (12, False, staff_x)
    assert not report.evidence.exists()
