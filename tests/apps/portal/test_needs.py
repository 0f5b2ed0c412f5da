"""Creating and editing needs in the portal: the API's input rules and the needs' services
decide, and their refusals come back as form errors, nothing written."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.needs.models import Need
from tests.apps.portal.conftest import signed_in
from tests.apps.portal.test_cycle import _need_form

pytestmark = pytest.mark.django_db


def test_a_need_without_title_or_amount_is_refused_field_by_field(staff_x, org_x):
    client = signed_in(staff_x)
    form = _need_form(title="")
    for field in list(form):
        if field.startswith("items-") and field[6].isdigit():
            form[field] = ""

    refused = client.post("/portal/needs/new", form)

    assert refused.status_code == 422
    body = refused.content.decode()
    assert "This field may not be blank." in body  # title, as the API says it
    no_amount = client.post("/portal/needs/new", form | {"title": "Winter coal for a school"})
    assert no_amount.status_code == 422
    assert "Give an amount or line items." in no_amount.content.decode()
    assert not Need.objects.filter(organization=org_x).exists()


def test_a_line_item_error_is_shown_on_its_row(staff_x, org_x):
    client = signed_in(staff_x)

    refused = client.post("/portal/needs/new", _need_form(**{"items-1-unit_cost": "ten"}))

    assert refused.status_code == 422
    body = refused.content.decode()
    row = body.split("Line 2")[1].split("Line 3")[0]
    assert "Write amounts as plain decimals" in row
    assert not Need.objects.filter(organization=org_x).exists()


def test_the_services_refusal_is_shown_translated(staff_x, org_x):
    client = signed_in(staff_x, "fa")
    yesterday = timezone.now().date() - timedelta(days=2)

    refused = client.post("/portal/needs/new", _need_form(deadline=yesterday.isoformat()))

    assert refused.status_code == 422
    body = refused.content.decode()
    assert '<html lang="fa" dir="rtl">' in body
    assert "لطفاً اشتباهات زیر را اصلاح کنید." in body
    assert "The deadline is in the past." in body or "گذشته" in body
    assert not Need.objects.filter(organization=org_x).exists()


def test_a_draft_is_edited_and_its_line_items_replaced(staff_x, org_x):
    client = signed_in(staff_x)
    client.post("/portal/needs/new", _need_form())
    need = Need.objects.get(organization=org_x)
    page = client.get(f"/portal/needs/{need.pk}/edit").content.decode()
    assert "Food package, family of 8, 4 weeks" in page and 'value="1500"' in page

    edited = client.post(
        f"/portal/needs/{need.pk}/edit",
        _need_form(
            title="Food packages, second round",
            version=str(need.version),
            **{
                "items-INITIAL_FORMS": "2",
                "items-0-quantity": "50",
                "items-1-description": "",
                "items-1-unit_cost": "",
                "items-1-quantity": "",
            },
        ),
    )

    assert edited.status_code == 302, edited.content.decode()[:3000]
    need.refresh_from_db()
    assert (need.title, need.amount, need.version) == (
        "Food packages, second round",
        Decimal("75000"),
        2,
    )
    assert [(li.description, li.quantity) for li in need.line_items.all()] == [
        ("Food package, family of 8, 4 weeks", 50)
    ]


def test_an_open_need_takes_the_edits_the_service_allows(staff_x, need_x):
    client = signed_in(staff_x)
    form = _need_form(
        title="Food packages for Kandahar families",
        sector=need_x.sector_id,
        province=need_x.province_id,
        district=need_x.district_id,
        currency="AFN",
        deadline=need_x.deadline.isoformat(),
        version=str(need_x.version),
        **{
            "items-INITIAL_FORMS": "1",
            "items-0-description": "Food package, family of 8, 4 weeks",
            "items-0-unit": "",
            "items-0-unit_cost": "1750",
            "items-0-quantity": "40",
            "items-1-description": "",
            "items-1-unit_cost": "",
            "items-1-quantity": "",
        },
    )

    edited = client.post(f"/portal/needs/{need_x.pk}/edit", form)

    assert edited.status_code == 302, edited.content.decode()[:3000]
    need_x.refresh_from_db()
    assert need_x.title == "Food packages for Kandahar families"
    assert need_x.amount == Decimal("70000")
    # The sector is frozen after approval: the service refuses a change, and the page says so.
    refused = client.post(
        f"/portal/needs/{need_x.pk}/edit",
        form | {"sector": "education", "version": str(need_x.version)},
    )
    assert refused.status_code == 422
    assert "cannot change" in refused.content.decode()
    need_x.refresh_from_db()
    assert need_x.sector_id == "food_security"


def test_a_stale_form_is_refused(staff_x, need_x):
    client = signed_in(staff_x)
    form = _need_form(
        sector=need_x.sector_id,
        province=need_x.province_id,
        district=need_x.district_id,
        deadline=need_x.deadline.isoformat(),
        version=str(need_x.version - 1 or 99),
    )

    refused = client.post(f"/portal/needs/{need_x.pk}/edit", form)

    assert refused.status_code == 422
    assert "read it again" in refused.content.decode()


def test_reading_the_exact_location_is_an_audited_read(staff_x, need_x):
    client = signed_in(staff_x)

    page = client.get(f"/portal/needs/{need_x.pk}").content.decode()

    assert need_x.location_detail in page
    read = AuditEvent.objects.get(action="confidential.read", object_id=str(need_x.pk))
    assert read.actor == f"user:{staff_x.pk}"
    assert read.detail == {"fields": ["location_detail"]}
