"""The flows as HXL and CSV: libhxl reads them, and what it reads by hashtag reconciles with
the ledger, as the JSON does."""

import csv
import io
from collections import defaultdict
from decimal import Decimal

import hxl
import pytest

from tests.apps.opendata.test_flows import all_rows, build_world, ledger_totals

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content).decode()


def test_the_flows_hxl_parses_and_its_totals_are_the_ledgers(anon):
    world = build_world()
    data = hxl.data(io.BytesIO(_text(anon.get("/api/v1/flows/?format=hxl")).encode()))

    totals: dict = defaultdict(Decimal)
    rows = 0
    for row in data:
        rows += 1
        status, currency = row.get("#status+flow"), row.get("#currency+original")
        totals[(status, currency)] += Decimal(row.get("#value+funding+original"))
        assert row.get("#org+name+funder")  # a donor, "private donor" or "anonymous donor"
    assert dict(totals) == ledger_totals(world)
    assert rows == len(all_rows(anon))
    assert "#adm1+code" in data.display_tags and "#value+funding+usd" in data.display_tags


def test_the_flows_csv_holds_the_json_rows(anon):
    build_world()
    json_rows = all_rows(anon)
    csv_rows = list(csv.DictReader(io.StringIO(_text(anon.get("/api/v1/flows/?format=csv")))))

    assert [int(r["id"]) for r in csv_rows] == [r["id"] for r in json_rows]
    for got, expected in zip(csv_rows, json_rows, strict=True):
        assert got["amount"] == expected["amount"]
        assert got["source_name"] == expected["source_name"]
        assert got["destination_name"] == expected["destination_name"]
        assert got["parent_flow_ids"] == "; ".join(str(p) for p in expected["parent_flow_ids"])
