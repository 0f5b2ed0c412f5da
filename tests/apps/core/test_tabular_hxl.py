"""The open needs list as HXL (?format=hxl): it parses with libhxl, and the values read by
hashtag are the JSON list's."""

import io
from collections import defaultdict
from decimal import Decimal

import hxl
import pytest

from apps.demo.world import build_world
from apps.needs.api.views import HXL_TAGS
from tests.apps.core.test_tabular import body_of, json_rows
from tests.apps.reports.test_story import receive
from tests.conftest import client_for
from tests.factories import NeedFactory

pytestmark = pytest.mark.django_db


def hxl_of(response) -> hxl.model.Dataset:
    assert response.status_code == 200, body_of(response)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="needs-hxl.csv"'
    return hxl.data(io.BytesIO(body_of(response).encode()))


@pytest.fixture
def world():
    w = build_world()
    food = w.organizations["food"]
    for province, funded in [("AF01", "250.00"), ("AF06", None), ("AF01", "1000.00")]:
        need = NeedFactory(
            organization=food,
            province_id=province,
            amount=Decimal("2000.00"),
            beneficiaries_women=7,
            beneficiaries_boys=2,
        )
        if funded:  # committed and received, through the services
            receive(w.users["donor2"], food, need, funded)
    return w


def by_province(rows, province, amount) -> dict:
    sums = defaultdict(Decimal)
    for row in rows:
        sums[province(row)] += Decimal(amount(row))
    return dict(sums)


@pytest.mark.parametrize("who", ["verifier", "donor", None])
def test_the_needs_hxl_parses_and_sums_as_the_json(world, who):
    client = client_for(world.users[who] if who else None)
    data = hxl_of(client.get("/api/v1/needs/?format=hxl"))
    expected = json_rows(client, "/api/v1/needs/")
    rows = list(data)

    assert len(rows) == len(expected)
    tags = {column.header: column.display_tag for column in data.columns}
    assert {name: tag for name, tag in tags.items() if tag} == HXL_TAGS
    assert by_province(rows, lambda r: r.get("#adm1+code"), lambda r: r.get("#value+funding")) == (
        by_province(expected, lambda r: r["province"], lambda r: r["funded_amount"])
    )
    assert [r.get("#value+requirement") for r in rows] == [r["amount"] for r in expected]
    assert [r.get("#value+pct+funded") for r in rows] == [r["percent_funded"] for r in expected]
    assert [r.get("#sector+cluster") for r in rows] == [r["sector"] for r in expected]
    assert [r.get("#date+deadline") or None for r in rows] == [r["deadline"] for r in expected]
    assert [r.get("#status") for r in rows] == [r["status"] for r in expected]
    assert [r.get("#currency") for r in rows] == [r["currency"] for r in expected]
    women = [r.get("#targeted+f+adults") for r in rows]
    if who is None:  # the public level shows no beneficiaries: the cells are empty
        assert set(women) == {""} or set(women) == {None}
        assert not any(r.get("#org+name") for r in rows)
    else:
        assert women == [str(r["beneficiaries_women"]) for r in expected]
        assert [r.get("#org+name") for r in rows] == [r["organization"]["name"] for r in expected]


def test_the_hxl_is_the_csv_with_a_hashtag_row(world):
    client = client_for(world.users["verifier"])
    plain = body_of(client.get("/api/v1/needs/", HTTP_ACCEPT="text/csv")).splitlines()
    tagged = body_of(client.get("/api/v1/needs/?format=hxl")).splitlines()
    assert tagged[0] == plain[0]
    assert tagged[1].startswith("#activity+code,#status,#sector+cluster+code,#adm1+code,")
    assert tagged[2:] == plain[1:]


def test_hxl_filters_as_json(world):
    client = client_for(world.users["donor"])
    rows = list(hxl_of(client.get("/api/v1/needs/?format=hxl&province=AF06")))
    assert {r.get("#adm1+code") for r in rows} == {"AF06"}
    assert len(rows) == len(json_rows(client, "/api/v1/needs/?province=AF06"))
