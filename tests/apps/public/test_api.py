"""Public funding figures: by province and sector, with small cells suppressed."""

from decimal import Decimal

import pytest

from tests.factories import NeedFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def _need(org, **kw):
    defaults = dict(
        organization=org,
        sector_id="food_security",
        province_id="AF01",
        amount=Decimal("1000.00"),
        beneficiaries_women=5,
        beneficiaries_girls=5,
        beneficiaries_men=0,
        beneficiaries_boys=0,
    )
    return NeedFactory(**{**defaults, **kw})


def test_a_cell_of_three_organizations_is_published(anon):
    for _ in range(3):
        _need(OrganizationFactory())

    body = anon.get("/api/v1/public/funding-summary").json()

    assert body["cells"] == [
        {
            "province": "AF01",
            "sector": "food_security",
            "currency": "USD",
            "needs": 3,
            "needed": "3000.00",
            "pledged": "0.00",
            "committed": "0.00",
            "disbursed": "0.00",
            "percent_funded": "0.0",
            "beneficiaries": 30,
        }
    ]
    assert body["suppressed_cells"] == 0


def test_a_lone_school_is_never_singled_out(anon):
    school = OrganizationFactory(name="Hidden School of Zabul", sensitive=True)
    _need(school, sector_id="education", province_id="AF26", beneficiaries_girls=80)
    for _ in range(3):
        _need(OrganizationFactory())

    response = anon.get("/api/v1/public/funding-summary")
    body = response.json()

    assert [c["province"] for c in body["cells"]] == ["AF01"]
    assert body["suppressed_cells"] == 1
    assert body["suppressed"] == []  # one organization pooled alone: still not shown
    raw = response.content.decode()
    assert "AF26" not in raw and "Zabul" not in raw and str(school.pk) not in raw


def test_few_beneficiaries_suppress_a_cell(anon):
    for _ in range(3):
        _need(OrganizationFactory(), beneficiaries_women=1, beneficiaries_girls=2)

    body = anon.get("/api/v1/public/funding-summary").json()

    assert body["cells"] == []
    assert body["suppressed_cells"] == 1


def test_pooled_small_cells_show_only_as_one_line(anon):
    for province in ("AF02", "AF03", "AF04"):
        _need(OrganizationFactory(), province_id=province)

    body = anon.get("/api/v1/public/funding-summary").json()

    assert body["cells"] == []
    assert body["suppressed_cells"] == 3
    assert [(c["province"], c["sector"], c["needed"]) for c in body["suppressed"]] == [
        (None, None, "3000.00")
    ]


def test_drafts_and_cancelled_needs_are_not_counted(anon):
    for status in ("draft", "submitted", "cancelled"):
        for _ in range(3):
            _need(OrganizationFactory(), status=status)

    assert anon.get("/api/v1/public/funding-summary").json()["cells"] == []
