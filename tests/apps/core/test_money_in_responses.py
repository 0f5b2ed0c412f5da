"""Every amount in every response has exactly its currency's minor-unit decimals (USD and AFN 2,
JPY 0, KWD 3), zero included ("0.00", never "0" or "0.0000"), and error messages that mention an
amount write it the same way and name its currency.

A small world in four currencies goes from pledge to report through the API; then every
response a donor, the organization, the public and a converter see is walked, and each
amount-like value is checked against the currency it is in."""

import re
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

import pytest
from django.utils import timezone

from aidmatch.access import MemberRole
from apps.fx.models import ExchangeRate
from apps.matching.models import Allocation
from apps.needs.models import NeedLineItem
from tests.conftest import client_for
from tests.factories import (
    MembershipFactory,
    NeedFactory,
    OrganizationFactory,
    PledgeFactory,
    propose,
)

pytestmark = pytest.mark.django_db

MINOR = {"USD": 2, "AFN": 2, "EUR": 2, "JPY": 0, "KWD": 3}
AMOUNT_KEY = re.compile(
    r"(^|_)(amount|cost|expected|received|spent|needed|pledged|committed|disbursed)$"
)
CURRENCY_KEYS = ("currency", "need_currency", "received_currency", "base", "quote")


def _exact(value: str, currency: str) -> bool:
    minor = MINOR[currency]
    return bool(re.fullmatch(r"[0-9]+" + (rf"\.[0-9]{{{minor}}}" if minor else ""), value))


def _currency_of(key: str, here: dict, context: dict, need_currency_of: dict) -> str:
    """Which currency the value at ``key`` of the dict ``here`` is in."""
    if key == "converted_amount":
        return context["quote"]
    if key == "amount" and "base" in here:
        return context["base"]
    if key.startswith("need_"):
        if "need_currency" in context:
            return context["need_currency"]
        return need_currency_of[here["allocation"]]  # a tranche's line
    received_keys = ("received_amount", "expected_received_amount", "refunded_amount")
    if key in received_keys and "received_currency" in here:
        return here["received_currency"]
    return context["currency"]


def walk(body, seen: list, where: str, need_currency_of: dict, context=None) -> None:
    """Check every amount-like value in ``body``; record (where, key, value, currency)."""
    context = dict(context or {})
    if isinstance(body, list):
        for item in body:
            walk(item, seen, where, need_currency_of, context)
        return
    if not isinstance(body, dict):
        return
    context.update({k: body[k] for k in CURRENCY_KEYS if isinstance(body.get(k), str)})
    for key, value in body.items():
        if isinstance(value, dict | list):
            walk(value, seen, f"{where}.{key}", need_currency_of, context)
        elif AMOUNT_KEY.search(key) and value is not None:
            currency = _currency_of(key, body, context, need_currency_of)
            assert isinstance(value, str), (where, key, value)
            assert _exact(value, currency), f"{where}.{key} = {value!r} in {currency}"
            seen.append((where, key, value, currency))


@pytest.fixture
def world(donor, settings):
    """Needs in AFN, JPY, USD and KWD of one organization; a donor's pledges in USD, JPY, KWD
    and AFN committed to them; tranches received in AFN, JPY and USD; reports of spending."""
    settings.PUBLIC_MIN_ORGANIZATIONS = 1
    settings.PUBLIC_MIN_BENEFICIARIES = 1
    today = timezone.now().date()
    for base, quote, rate in (("USD", "AFN", "70"), ("USD", "JPY", "150"), ("KWD", "USD", "3.25")):
        ExchangeRate.objects.create(
            base_id=base, quote_id=quote, rate=Decimal(rate), date=today, source="UN"
        )
    org = OrganizationFactory()
    staff = MembershipFactory(organization=org, role=MemberRole.ADMIN).user
    needs = {
        code: NeedFactory(organization=org, amount=Decimal(amount), currency_id=code)
        for code, amount in (
            ("AFN", "70000.00"),
            ("JPY", "150000"),
            ("USD", "325.00"),
            ("KWD", "30.000"),
        )
    }
    NeedLineItem.objects.create(
        need=needs["JPY"],
        position=1,
        description="Textbooks",
        unit_cost=Decimal("1500"),
        quantity=100,
        amount=Decimal("150000"),
    )
    pairs = [  # pledge currency and amount → need currency and amount
        ("USD", "1000.00", "AFN", "70000.00"),
        ("JPY", "150000", "JPY", "150000"),
        ("KWD", "100.000", "USD", "325.00"),
        ("AFN", "7000.00", "KWD", "30.000"),
    ]
    allocations = {}
    for pc, amount, nc, need_amount in pairs:
        pledge = PledgeFactory(donor=donor, amount=Decimal(amount) * 2, currency_id=pc)
        allocation = propose(pledge, needs[nc], Decimal(amount), Decimal(need_amount))
        rate = (Decimal(need_amount) / Decimal(amount)).quantize(Decimal("1e-10"), ROUND_DOWN)
        Allocation.objects.filter(pk=allocation.pk).update(rate=rate)  # as matching records it
        allocations[nc] = allocation
    donor_client, staff_client = client_for(donor), client_for(staff)
    for allocation in allocations.values():
        committed = donor_client.post(f"/api/v1/allocations/{allocation.pk}/commit")
        assert committed.status_code == 200, committed.content
    tranches = [  # need, amount and fee in the pledge's currency, received in the need's
        ("AFN", "1000.00", "USD", "30.00", "67900.00"),
        ("JPY", "50000", "JPY", "500", "49000"),
        ("USD", "40.500", "KWD", "0.250", "130.80"),
    ]
    for nc, amount, pc, fee, received in tranches:
        created = donor_client.post(
            "/api/v1/disbursements/",
            {
                "allocations": [str(allocations[nc].pk)],
                "amount": amount,
                "currency": pc,
                "channel": "hawala",
                "fee_amount": fee,
            },
            format="json",
        )
        assert created.status_code == 201, created.content
        tranche = created.json()["id"]
        donor_client.post(f"/api/v1/disbursements/{tranche}/mark-sent", {}, format="json")
        receipt = staff_client.post(
            f"/api/v1/disbursements/{tranche}/confirm-receipt",
            {"received_amount": received, "received_currency": nc, "difference_reason": "fees"},
            format="json",
        )
        assert receipt.status_code == 200, receipt.content
        report = staff_client.post(
            "/api/v1/reports/",
            {
                "need": str(needs[nc].pk),
                "period_start": str(today - timedelta(days=7)),
                "period_end": str(today),
                "reached_women": 10,
                "households": 5,
                "narrative": "Delivered.",
                "amount_spent": received,
                "final": False,
            },
            format="json",
        )
        assert report.status_code == 201, report.content
    return org, donor_client, staff_client, needs


def test_every_amount_in_every_response_has_its_currencys_decimals(world, anon):
    org, donor_client, staff_client, needs = world
    need_currency_of = {
        str(a.pk): a.need.currency_id for a in Allocation.objects.select_related("need")
    }
    pledges = donor_client.get("/api/v1/pledges/").json()["results"]
    assert {p["currency"] for p in pledges} == {"USD", "JPY", "KWD", "AFN"}
    calls = [
        (donor_client, "/api/v1/needs/"),
        (anon, "/api/v1/needs/"),
        (staff_client, "/api/v1/needs/"),
        *[(staff_client, f"/api/v1/needs/{n.pk}") for n in needs.values()],
        *[(donor_client, f"/api/v1/needs/{n.pk}") for n in needs.values()],
        (donor_client, "/api/v1/pledges/"),
        *[(donor_client, f"/api/v1/pledges/{p['id']}") for p in pledges],
        *[(donor_client, f"/api/v1/pledges/{p['id']}/trace") for p in pledges],
        (donor_client, "/api/v1/allocations/"),
        (staff_client, "/api/v1/allocations/"),
        (donor_client, "/api/v1/disbursements/"),
        (staff_client, "/api/v1/disbursements/"),
        (donor_client, "/api/v1/reports/"),
        (staff_client, f"/api/v1/organizations/{org.pk}/funding"),
        (anon, "/api/v1/public/funding-summary"),
        (donor_client, "/api/v1/exchange-rates/convert?base=USD&quote=JPY&amount=10"),
        (donor_client, "/api/v1/exchange-rates/convert?base=JPY&quote=KWD&amount=15000"),
        (donor_client, "/api/v1/exchange-rates/convert?base=KWD&quote=AFN&amount=1.5"),
        (donor_client, "/api/v1/exchange-rates/convert?base=AFN&quote=AFN&amount=100"),
    ]
    seen: list = []
    for client, path in calls:
        response = client.get(path)
        assert response.status_code == 200, (path, response.content)
        before = len(seen)
        walk(response.json(), seen, path, need_currency_of)
        assert len(seen) > before, f"no amount checked in {path}"

    assert {currency for *_, currency in seen} == {"USD", "AFN", "JPY", "KWD"}
    keys = {key for _, key, _, _ in seen}
    assert keys >= {
        "amount",
        "need_amount",
        "unit_cost",
        "fee_amount",
        "received_amount",
        "expected_received_amount",
        "amount_spent",
        "funded_amount",
        "remaining_amount",
        "committed_amount",
        "disbursed_amount",
        "available_amount",
        "sent_amount",
        "expected",
        "received",
        "spent",
        "needed",
        "pledged",
        "converted_amount",
    }
    values = {(key, value, currency) for _, key, value, currency in seen}
    # the three: the trace in AFN, the funding page's "1000.0000" and "0"
    assert ("received_amount", "67900.00", "AFN") in values
    assert ("expected", "70000.00", "AFN") in values and ("received", "70000.00", "AFN") in values
    assert ("disbursed_amount", "0.000", "KWD") in values  # zero, with KWD's three places
    assert ("remaining_amount", "0", "JPY") in values
    assert ("unit_cost", "1500", "JPY") in values


def test_zero_is_written_with_the_currencys_decimals(donor_client, donor):
    pledge = PledgeFactory(donor=donor, amount=Decimal("250.00"), currency_id="USD")
    body = donor_client.get(f"/api/v1/pledges/{pledge.pk}").json()
    assert body["committed_amount"] == body["disbursed_amount"] == "0.00"
    trace = donor_client.get(f"/api/v1/pledges/{pledge.pk}/trace").json()
    assert (trace["sent_amount"], trace["received_amount"]) == ("0.00", "0.00")


def test_an_error_that_mentions_an_amount_writes_it_with_its_currency(donor, donor_client):
    org = OrganizationFactory()
    need = NeedFactory(organization=org, amount=Decimal("884.93"), currency_id="USD")
    pledge = PledgeFactory(donor=donor, amount=Decimal("1000.00"), currency_id="USD")
    allocation = propose(pledge, need, Decimal("884.93"))
    donor_client.post(f"/api/v1/allocations/{allocation.pk}/commit")

    too_much = donor_client.post(
        "/api/v1/disbursements/",
        {
            "allocations": [str(allocation.pk)],
            "amount": "900.00",
            "currency": "USD",
            "channel": "bank",
        },
        format="json",
    )

    assert too_much.status_code == 422
    body = too_much.json()
    assert body["detail"] == "The amount is more than these allocations still owe (884.93 USD)."
    assert body["errors"] == {"amount": ["At most 884.93 USD."]}
    below = donor_client.patch(
        f"/api/v1/pledges/{pledge.pk}", {"amount": "100.00"}, format="json"
    ).json()
    assert "884.93 USD" in below["detail"] and "884.9300" not in str(below)
