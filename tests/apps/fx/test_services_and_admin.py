"""The write services, the admin (add, never change or delete) and the demo world's rates."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.test import Client
from django.utils import timezone

from aidmatch.access import PlatformRole
from aidmatch.errors import RuleViolation
from aidmatch.fx import RateRow
from apps.fx import selectors, services
from apps.fx.models import ExchangeRate
from apps.fx.services import RateConflict
from tests.factories import UserFactory
from tests.factories.fx import ExchangeRateFactory

pytestmark = pytest.mark.django_db

JAN = date(2026, 1, 1)


def test_create_normalises_the_source_and_refuses_a_twin(verifier):
    snap = services.exchange_rate_create(
        base="USD",
        quote="AFN",
        rate=D("70.5"),
        date=JAN,
        source="  UN   operational ",
        created_by=verifier,
    )
    assert (snap.source, snap.created_by) == ("UN operational", verifier)
    with pytest.raises(RateConflict) as caught:
        services.exchange_rate_create(
            base="USD", quote="AFN", rate=D("70.5"), date=JAN, source="UN operational"
        )
    assert caught.value.status == 409 and f"#{snap.pk}" in caught.value.detail
    assert ExchangeRate.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"base": "XXX"}, "base"),
        ({"quote": "USD"}, "quote"),
        ({"rate": D("0")}, "rate"),
        ({"rate": D("1.00000000001")}, "rate"),
        ({"rate": D("NaN")}, "rate"),
    ],
)
def test_create_refuses_impossible_snapshots(fields, field):
    args = {"base": "USD", "quote": "AFN", "rate": D("70"), "date": JAN, "source": "UN"}
    with pytest.raises(RuleViolation) as caught:
        services.exchange_rate_create(**(args | fields))
    assert field in caught.value.errors
    assert not ExchangeRate.objects.exists()


def test_load_refuses_rows_it_was_not_given_validated():
    rows = [RateRow("USD", "AFN", D("70"), JAN, "UN"), RateRow("USD", "ZZZ", D("1"), JAN, "UN")]
    with pytest.raises(RuleViolation) as caught:
        services.exchange_rates_load(rows=rows)
    assert list(caught.value.errors) == ["1"]
    assert not ExchangeRate.objects.exists()


def test_load_counts_created_and_unchanged_and_reports_progress():
    ExchangeRateFactory(rate=D("70"), date=JAN, source="UN")
    rows = [RateRow("USD", "AFN", D("70.000"), JAN, "UN")] + [
        RateRow("EUR", "USD", D("1.08"), date(2026, 1, day), "UN") for day in range(1, 8)
    ]
    seen = []
    result = services.exchange_rates_load(rows=rows, progress=lambda d, t: seen.append((d, t)))
    assert (result.created, result.unchanged) == (7, 1)
    assert seen == [(7, 7)]
    assert ExchangeRate.objects.count() == 8


@pytest.fixture
def staff_verifier(db):
    return UserFactory(platform_role=PlatformRole.VERIFIER, is_staff=True)


def test_a_verifier_adds_snapshots_in_the_admin_but_never_changes_or_deletes_them(staff_verifier):
    client = Client()
    client.force_login(staff_verifier)
    assert client.get("/admin/fx/exchangerate/").status_code == 200
    response = client.post(
        "/admin/fx/exchangerate/add/",
        {"base": "USD", "quote": "AFN", "rate": "70.85", "date": "2026-02-01", "source": "UN"},
    )
    assert response.status_code == 302, response.content[:2000]
    snap = ExchangeRate.objects.get()
    assert (snap.rate, snap.created_by) == (D("70.85"), staff_verifier)

    # the change page is read-only: a post changes nothing; delete is refused
    client.post(f"/admin/fx/exchangerate/{snap.pk}/change/", {"rate": "1", "source": "x"})
    assert client.get(f"/admin/fx/exchangerate/{snap.pk}/delete/").status_code == 403
    snap.refresh_from_db()
    assert (snap.rate, snap.source) == (D("70.85"), "UN")

    bad = client.post(
        "/admin/fx/exchangerate/add/",
        {"base": "USD", "quote": "USD", "rate": "-1", "date": "2026-02-01", "source": "UN"},
    )
    assert bad.status_code == 200  # the form again, with its errors
    assert ExchangeRate.objects.count() == 1


def test_staff_who_are_not_verifiers_do_not_see_rates_in_the_admin():
    client = Client()
    client.force_login(UserFactory(is_staff=True))
    assert client.get("/admin/fx/exchangerate/").status_code == 403
    assert client.get("/admin/fx/exchangerate/add/").status_code == 403


def test_the_demo_world_loads_the_sample_rates():
    from apps.demo.world import build_world

    build_world()
    build_world()  # safe to build again
    today = timezone.now().date()
    pairs = ExchangeRate.objects.exclude(source="demo").values("base", "quote").distinct()
    assert ExchangeRate.objects.exclude(source="demo").count() == 34
    # the newest sample rate of each pair again, dated today: fresh whatever day the demo runs
    demo = ExchangeRate.objects.filter(source="demo")
    assert demo.count() == pairs.count() == 15 and {r.date for r in demo} == {today}
    assert demo.get(base="USD", quote="AFN").rate == D("66.05")  # 2026-11-01, the newest
    assert demo.get(base="EUR", quote="AFN").rate == D("77.05")  # 2026-07-15
    assert selectors.rates_to(quote="AFN", on=today).keys() >= {"EUR", "USD", "GBP", "JPY"}
