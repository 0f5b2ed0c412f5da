"""/api/v1/exchange-rates/: who may read and record, bad input, conversion, query counts."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.models import IdempotencyRecord
from apps.fx.models import ExchangeRate
from tests.factories.fx import ExchangeRateFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/exchange-rates/"
PROBLEM = "application/problem+json"
GOOD = {
    "base": "USD",
    "quote": "AFN",
    "rate": "70.85",
    "date": "2026-02-01",
    "source": "UN operational rates",
}


def test_anonymous_callers_are_refused_everything(anon):
    ExchangeRateFactory()
    for response in (
        anon.get(URL),
        anon.get(f"{URL}{ExchangeRate.objects.get().pk}"),
        anon.get(f"{URL}convert?base=USD&quote=AFN&amount=1.00"),
        anon.post(URL, GOOD, format="json"),
    ):
        assert response.status_code == 401
        assert response["Content-Type"] == PROBLEM
    assert ExchangeRate.objects.count() == 1


def test_a_donor_reads_but_may_not_record(donor_client):
    snap = ExchangeRateFactory()
    listed = donor_client.get(URL)
    assert listed.status_code == 200
    assert listed.json()["results"] == [
        {
            "id": snap.pk,
            "base": "USD",
            "quote": "AFN",
            "rate": "70.5000000000",
            "date": "2026-01-01",
            "source": "UN operational rates",
            "created_at": listed.json()["results"][0]["created_at"],
        }
    ]
    assert donor_client.get(f"{URL}{snap.pk}").json()["rate"] == "70.5000000000"
    refused = donor_client.post(URL, GOOD, format="json")
    assert refused.status_code == 403 and refused["Content-Type"] == PROBLEM
    assert ExchangeRate.objects.count() == 1


def test_org_staff_and_api_keys_read_but_may_not_record(staff_x, api_key_x):
    from tests.conftest import client_for

    ExchangeRateFactory()
    for client in (client_for(staff_x), client_for(api_key=api_key_x)):
        assert client.get(URL).status_code == 200
        assert client.post(URL, GOOD, format="json").status_code == 403
    assert ExchangeRate.objects.count() == 1


def test_a_verifier_records_a_snapshot(verifier_client, verifier):
    response = verifier_client.post(URL, GOOD, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in GOOD} == GOOD | {"rate": "70.8500000000"}
    snap = ExchangeRate.objects.get(pk=body["id"])
    assert (snap.rate, snap.created_by) == (D("70.85"), verifier)


def test_snapshots_are_immutable(verifier_client):
    snap = ExchangeRateFactory()
    for method in (verifier_client.patch, verifier_client.put, verifier_client.delete):
        response = method(f"{URL}{snap.pk}", {"rate": "1"}, format="json")
        assert response.status_code == 405 and response["Content-Type"] == PROBLEM
    assert ExchangeRate.objects.get().rate == D("70.5")


def test_the_same_pair_date_and_source_twice_is_a_conflict(verifier_client):
    assert verifier_client.post(URL, GOOD, format="json").status_code == 201
    again = verifier_client.post(URL, GOOD | {"rate": "71"}, format="json")
    assert again.status_code == 409 and again["Content-Type"] == PROBLEM
    assert "later date or another source" in again.json()["detail"]
    # a correction from another source on the same day is a new snapshot
    other = GOOD | {"rate": "71", "source": "Da Afghanistan Bank"}
    assert verifier_client.post(URL, other, format="json").status_code == 201
    assert ExchangeRate.objects.count() == 2


def test_idempotency_key_replays_the_first_response(verifier_client):
    headers = {"HTTP_IDEMPOTENCY_KEY": "rate-2026-02-01-usd-afn"}
    first = verifier_client.post(URL, GOOD, format="json", **headers)
    again = verifier_client.post(URL, GOOD, format="json", **headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    other = verifier_client.post(URL, GOOD | {"rate": "70.9"}, format="json", **headers)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert ExchangeRate.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rate": "0"}, "rate"),
        ({"rate": "-70"}, "rate"),
        ({"rate": "abc"}, "rate"),
        ({"rate": "1e3"}, "rate"),
        ({"rate": "NaN"}, "rate"),
        ({"rate": "70.12345678901"}, "rate"),  # 11 decimals
        ({"rate": 70.85}, "rate"),  # a JSON float
        ({"rate": "123456789012345"}, "rate"),
        ({"rate": None}, "rate"),
        ({"base": "XXX"}, "base"),
        ({"base": "usd"}, "base"),
        ({"base": 5}, "base"),
        ({"quote": "USD"}, "quote"),
        ({"date": "2026-02-30"}, "date"),
        ({"date": "yesterday"}, "date"),
        ({"source": ""}, "source"),
        ({"source": "   "}, "source"),
        ({"source": "x" * 101}, "source"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_input_is_a_400_and_writes_nothing(verifier_client, change, field):
    response = verifier_client.post(URL, GOOD | change, format="json")
    assert response.status_code == 400, response.json()
    assert response["Content-Type"] == PROBLEM
    assert field in response.json()["errors"]
    assert not ExchangeRate.objects.exists()


@pytest.mark.parametrize("body", [[], "text", {"base": "USD"}, {}])
def test_malformed_bodies_are_a_400_and_write_nothing(verifier_client, body):
    headers = {"HTTP_IDEMPOTENCY_KEY": "bad-body"}
    response = verifier_client.post(URL, body, format="json", **headers)
    assert response.status_code == 400 and response["Content-Type"] == PROBLEM
    assert not ExchangeRate.objects.exists() and not IdempotencyRecord.objects.exists()


def test_filters_and_ordering(donor_client):
    ExchangeRateFactory(date=date(2026, 1, 1))
    ExchangeRateFactory(date=date(2026, 3, 1), rate=D("72"))
    ExchangeRateFactory(date=date(2026, 2, 1), rate=D("71"), source="Da Afghanistan Bank")
    ExchangeRateFactory(base_id="EUR", quote_id="USD", rate=D("1.08"), date=date(2026, 2, 1))

    def dates(query):
        response = donor_client.get(URL + query)
        assert response.status_code == 200, response.json()
        return [(r["base"], r["date"]) for r in response.json()["results"]]

    assert dates("") == [  # newest first, then the one recorded last
        ("USD", "2026-03-01"),
        ("EUR", "2026-02-01"),
        ("USD", "2026-02-01"),
        ("USD", "2026-01-01"),
    ]
    assert dates("?ordering=date")[0] == ("USD", "2026-01-01")
    assert dates("?base=EUR") == [("EUR", "2026-02-01")]
    assert dates("?quote=AFN&date_after=2026-02-01&date_before=2026-02-28") == [
        ("USD", "2026-02-01")
    ]
    assert dates("?source=Da%20Afghanistan%20Bank") == [("USD", "2026-02-01")]
    bad = donor_client.get(URL + "?date_after=soon")
    assert bad.status_code == 400 and bad["Content-Type"] == PROBLEM
    assert donor_client.get(f"{URL}999999").status_code == 404
    assert donor_client.get(f"{URL}abc").status_code == 404


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL + "?page_size=200")
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.json()["results"])


def test_the_lists_query_count_does_not_grow_with_its_length(donor_client, verifier):
    ExchangeRateFactory(created_by=verifier)
    few = _list_queries(donor_client)
    codes = ["EUR", "GBP", "PKR", "CHF", "SEK", "NOK", "CAD", "AUD", "JPY", "AED"]
    for day in range(1, 5):
        for code in codes:
            ExchangeRateFactory(
                base_id=code, quote_id="USD", date=date(2026, 5, day), created_by=verifier
            )
    many = _list_queries(donor_client)
    assert (few[1], many[1]) == (1, 41)
    assert many[0] == few[0]


def test_convert_an_amount_on_a_day(donor_client):
    ExchangeRateFactory(base_id="EUR", quote_id="USD", rate=D("1.0850"), date=date(2026, 2, 24))
    ExchangeRateFactory(base_id="USD", quote_id="AFN", rate=D("70.5"), date=date(2026, 2, 27))
    response = donor_client.get(f"{URL}convert?base=EUR&quote=AFN&amount=250&on=2026-03-01")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "amount": "250.00",
        "base": "EUR",
        "quote": "AFN",
        "on": "2026-03-01",
        "converted_amount": "19123.12",
        "rate": "76.4925000000",
        "rate_date": "2026-02-24",  # the older leg's
        "rate_source": "UN operational rates (via USD)",
        "source": "UN operational rates (via USD)",
        "date": "2026-02-24",
    }
    same = donor_client.get(f"{URL}convert?base=AFN&quote=AFN&amount=5").json()
    assert (same["converted_amount"], same["rate"], same["date"]) == ("5.00", "1.0000000000", None)


def test_convert_in_yen_and_dinar_has_their_decimals(donor_client):
    ExchangeRateFactory(base_id="USD", quote_id="JPY", rate=D("150.019"), date=date(2026, 3, 1))
    ExchangeRateFactory(base_id="USD", quote_id="KWD", rate=D("0.30779"), date=date(2026, 3, 1))
    yen = donor_client.get(f"{URL}convert?base=USD&quote=JPY&amount=10&on=2026-03-01").json()
    assert (yen["amount"], yen["converted_amount"]) == ("10.00", "1500")
    dinar = donor_client.get(f"{URL}convert?base=JPY&quote=KWD&amount=5000&on=2026-03-01").json()
    assert (dinar["amount"], dinar["converted_amount"]) == ("5000", "10.258")


@pytest.mark.parametrize(
    ("query", "rate_date"),
    [
        # the case: a conversion on 2026-11-25 would have used a rate of 2026-07-15
        ("base=EUR&quote=AFN&amount=1000&on=2026-11-25", "2026-07-15"),
        ("base=AFN&quote=EUR&amount=1000&on=2026-11-25", "2026-07-15"),  # the inverse, too
    ],
)
def test_convert_with_a_rate_older_than_the_maximum_age_is_a_422_naming_pair_and_date(
    donor_client, query, rate_date
):
    ExchangeRateFactory(base_id="EUR", quote_id="AFN", rate=D("77.05"), date=date(2026, 7, 15))
    response = donor_client.get(f"{URL}convert?{query}")
    assert response.status_code == 422, response.json()
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    pair = (body["base"], body["quote"])
    assert body["code"] == "stale_exchange_rate" and pair in {("EUR", "AFN"), ("AFN", "EUR")}
    assert (body["rate_date"], body["on"], body["max_age_days"]) == (rate_date, "2026-11-25", 7)
    assert f"from {pair[0]} to {pair[1]}" in body["detail"] and rate_date in body["detail"]


def test_convert_refuses_a_cross_rate_with_one_stale_leg(donor_client):
    ExchangeRateFactory(base_id="EUR", quote_id="USD", rate=D("1.0850"), date=date(2026, 11, 1))
    ExchangeRateFactory(base_id="USD", quote_id="AFN", rate=D("66.05"), date=date(2026, 11, 24))
    stale = donor_client.get(f"{URL}convert?base=EUR&quote=AFN&amount=10&on=2026-11-25")
    body = stale.json()
    assert stale.status_code == 422
    assert (body["code"], body["rate_date"]) == ("stale_exchange_rate", "2026-11-01")
    fresh = donor_client.get(f"{URL}convert?base=USD&quote=AFN&amount=10&on=2026-11-25")
    assert fresh.status_code == 200 and fresh.json()["rate_date"] == "2026-11-24"


def test_the_maximum_age_is_a_setting(donor_client, settings):
    ExchangeRateFactory(base_id="USD", quote_id="AFN", rate=D("66.05"), date=date(2026, 11, 1))
    query = f"{URL}convert?base=USD&quote=AFN&amount=10&on=2026-11-25"
    assert donor_client.get(query).status_code == 422  # 24 days > 7, the default
    settings.FX_MAX_RATE_AGE_DAYS = 24
    assert donor_client.get(query).json()["rate_date"] == "2026-11-01"
    settings.FX_MAX_RATE_AGE_DAYS = 23
    assert donor_client.get(query).json()["max_age_days"] == 23


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("base=EUR&quote=AFN&amount=250&on=2025-12-31", 422),  # before any snapshot
        ("base=EUR&quote=PKR&amount=250", 422),
        ("base=EUR&quote=AFN&amount=250.001", 400),
        ("base=EUR&quote=AFN&amount=-1", 400),
        ("base=EUR&quote=AFN&amount=1e3", 400),
        ("base=EUR&quote=XXX&amount=1", 400),
        ("base=EUR&amount=1", 400),
        ("base=EUR&quote=AFN&amount=1&on=someday", 400),
    ],
)
def test_convert_refuses_bad_input_and_missing_rates(donor_client, query, status):
    ExchangeRateFactory(base_id="EUR", quote_id="USD", rate=D("1.0850"), date=date(2026, 1, 1))
    ExchangeRateFactory(base_id="USD", quote_id="AFN", rate=D("70.5"), date=date(2026, 2, 1))
    response = donor_client.get(f"{URL}convert?{query}")
    assert response.status_code == status, response.json()
    assert response["Content-Type"] == PROBLEM
    if status == 422:
        assert response.json()["code"] == "no_exchange_rate"
