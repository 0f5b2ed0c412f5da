"""The public funding summary as CSV and HXL: the JSON's figures, one line per shown cell and
the pooled line(s), and nothing the JSON hides."""

import csv
import io
from decimal import Decimal

import hxl
import pytest

from tests.apps.core.test_tabular import body_of
from tests.apps.public.test_api import _need
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def summary_world():
    for _ in range(3):  # a shown cell: Kabul, food security
        _need(OrganizationFactory(), amount=Decimal("1000.00"))
    school = OrganizationFactory(name="Hidden School of Zabul", sensitive=True)
    _need(school, sector_id="education", province_id="AF26", beneficiaries_girls=80)
    for province in ("AF02", "AF03", "AF04"):  # three small cells that pool into one shown line
        _need(OrganizationFactory(), sector_id="health", province_id=province, currency_id="AFN")
    return school


def test_the_csv_has_the_jsons_cells_and_pooled_lines(anon, summary_world):
    body = anon.get("/api/v1/public/funding-summary").json()
    response = anon.get("/api/v1/public/funding-summary", HTTP_ACCEPT="text/csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="funding-summary.csv"'
    text = body_of(response)
    rows = list(csv.DictReader(io.StringIO(text)))

    cells = [r for r in rows if r["pooled"] == "false"]
    pooled = [r for r in rows if r["pooled"] == "true"]
    assert len(cells) == len(body["cells"]) == 1
    assert len(pooled) == len(body["suppressed"])
    for got, expected in zip(cells + pooled, body["cells"] + body["suppressed"], strict=True):
        for key, value in expected.items():
            assert got[key] == ("" if value is None else str(value)), key
    assert cells[0]["province_name"] == "Kabul"
    # What the JSON hides stays hidden: the lone school's cell, its province, its name.
    assert "AF26" not in text and "Zabul" not in text and summary_world.name not in text
    assert [r["province"] for r in pooled] == [""] * len(pooled)


def test_the_hxl_parses_and_reads_as_the_json(anon, summary_world):
    body = anon.get("/api/v1/public/funding-summary").json()
    response = anon.get("/api/v1/public/funding-summary?format=hxl")
    assert response.status_code == 200
    data = hxl.data(io.BytesIO(body_of(response).encode()))
    rows = list(data)
    shown = body["cells"] + body["suppressed"]
    assert len(rows) == len(shown)
    assert [r.get("#adm1+code") or None for r in rows] == [c["province"] for c in shown]
    assert [r.get("#sector+cluster") or None for r in rows] == [c["sector"] for c in shown]
    assert [r.get("#value+requirement") for r in rows] == [c["needed"] for c in shown]
    assert [r.get("#value+funding") for r in rows] == [c["committed"] for c in shown]
    assert [r.get("#value+pct+funded") for r in rows] == [c["percent_funded"] for c in shown]
    assert [int(r.get("#targeted")) for r in rows] == [c["beneficiaries"] for c in shown]
    assert rows[0].get("#adm1+name") == "Kabul"
    assert "#org+count" not in [c.display_tag for c in data.columns]  # the JSON has no such count


def test_a_summary_with_nothing_shown_is_a_header(anon, summary_world):
    OrganizationFactory()  # no needs: nothing changes
    from apps.needs.models import Need

    Need.objects.all().delete()
    text = body_of(anon.get("/api/v1/public/funding-summary?format=csv"))
    assert text.splitlines() == [
        "province,province_name,sector,sector_name,currency,needs,needed,pledged,committed,"
        "disbursed,percent_funded,beneficiaries,pooled"
    ]
