"""A donor's giving statement: hand-computed totals that reconcile with the ledger, organizations
as donors see them, the donor's own data only, CSV and PDF, and bad input.

The world (all in 2026, clock fixed): one donor with three pledges (USD 1,000 committed 800 to a
food need in AFN and sent 500 of it in a tranche; EUR 2,000, anonymous, committed 1,000 to a
sensitive school's USD need then reduced to 1,500; USD 300 withdrawn), a refund of AFN 1,000
from the food program, and another donor whose pledge funds the same need. Rates: 1 USD = 70
AFN, 1 EUR = 1.10 USD.
"""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from pypdf import PdfReader

from aidmatch.ledger import AccountKind, account_key
from apps.disbursements import services as tranches
from apps.ledger.models import Leg
from apps.ledger.selectors import balances
from apps.matching.models import Allocation
from apps.matching.services.allocations import allocation_commit
from apps.pledges import services as pledges
from apps.reference.models import Currency
from apps.reports.models import DeliveryReport
from apps.statements.selectors import Donor, donor_legs_q
from tests.conftest import client_for
from tests.factories import (
    ApiKeyFactory,
    MembershipFactory,
    NeedFactory,
    OrganizationFactory,
    PledgeFactory,
    UserFactory,
    propose,
)
from tests.factories.fx import ExchangeRateFactory

URL = "/api/v1/donors/me/statement"
SCHOOL = "مکتب دختران هرات"  # the sensitive school's real name: never on a statement


def committed(pledge, need, amount, need_amount):
    allocation = propose(pledge, need, Decimal(amount), Decimal(need_amount))
    rate = Decimal(need_amount) / Decimal(amount)
    Allocation.objects.filter(pk=allocation.pk).update(rate=rate)
    return allocation_commit(allocation_id=allocation.pk)


@pytest.fixture
def world(db, donor, clock):
    clock("2026-06-15T10:00:00+00:00")
    ExchangeRateFactory(base_id="USD", quote_id="AFN", rate=Decimal("70"), date=date(2026, 6, 10))
    ExchangeRateFactory(base_id="EUR", quote_id="USD", rate=Decimal("1.10"), date=date(2026, 6, 10))
    food = OrganizationFactory(name="Kandahar Bread for Families")
    food_staff = MembershipFactory(organization=food).user
    school = OrganizationFactory(name=SCHOOL, sensitive=True, kind="school_network")
    bread = NeedFactory(
        organization=food,
        title="Bread for 200 families",
        amount=Decimal("700000"),
        currency_id="AFN",
    )
    classes = NeedFactory(
        organization=school, title="Classes for girls", amount=Decimal("5000"), currency_id="USD"
    )

    usd = PledgeFactory(donor=donor, amount=Decimal("1000.00"), currency_id="USD")
    to_bread = committed(usd, bread, "800.00", "56000.00")
    eur = PledgeFactory(donor=donor, amount=Decimal("2000.00"), currency_id="EUR", anonymous=True)
    committed(eur, classes, "1000.00", "1100.00")
    pledges.pledge_reduce(pledge_id=eur.pk, actor=donor, amount=Decimal("1500.00"))
    small = PledgeFactory(donor=donor, amount=Decimal("300.00"), currency_id="USD")
    pledges.pledge_withdraw(pledge_id=small.pk, actor=donor)

    tranche = tranches.disbursement_create(
        actor=donor,
        allocation_ids=[to_bread.pk],
        amount=Decimal("500.00"),
        currency=Currency.objects.get(code="USD"),
        channel="hawala",
        fee_amount=Decimal("15.00"),
    )
    tranches.disbursement_mark_sent(
        disbursement_id=tranche.pk, actor=donor, value_date=date(2026, 6, 12)
    )
    tranches.disbursement_confirm_receipt(
        disbursement_id=tranche.pk,
        acting_for={food.pk},
        actor=food_staff,
        received_amount=Decimal("33950.00"),
        received_currency=Currency.objects.get(code="AFN"),
        received_date=date(2026, 6, 13),
    )
    tranches.disbursement_refund(
        disbursement_id=tranche.pk,
        actor=food_staff,
        acting_for={food.pk},
        amount=Decimal("1000.00"),
        currency=Currency.objects.get(code="AFN"),
        reason="Flour was cheaper",
        refund_date=date(2026, 6, 14),
    )
    DeliveryReport.objects.create(
        need=bread,
        period_start=date(2026, 6, 1),
        period_end=date(2026, 6, 14),
        reached_women=60,
        reached_girls=80,
        narrative="Bread delivered to 40 households.",
    )
    DeliveryReport.objects.create(
        need=classes,
        period_start=date(2026, 6, 1),
        period_end=date(2026, 6, 14),
        reached_girls=6,
        narrative="Six girls in the house of the teacher.",
    )

    other = UserFactory(full_name="Other Donor")
    other_pledge = PledgeFactory(donor=other, amount=Decimal("777.00"), currency_id="USD")
    committed(other_pledge, bread, "700.00", "49000.00")
    return {
        "food": food,
        "school": school,
        "bread": bread,
        "classes": classes,
        "pledges": [usd, eur, small],
        "tranche": tranche,
        "other": other,
        "other_pledge": other_pledge,
    }


def _get(client, **params):
    return client.get(URL, {"year": 2026, **params})


def test_totals_by_hand_per_currency_and_in_usd(world, donor_client):
    body = _get(donor_client).json()
    assert body["year"] == 2026
    assert body["donor"] == {"kind": "person", "name": "Dana Donor"}
    assert body["totals"] == [
        {
            "currency": "AFN",
            "pledged": "0.00",
            "committed": "0.00",
            "disbursed": "0.00",
            "refunded": "1000.00",
        },
        {
            "currency": "EUR",
            "pledged": "1500.00",  # 2,000 less the 500 reduction
            "committed": "1000.00",
            "disbursed": "0.00",
            "refunded": "0.00",
        },
        {
            "currency": "USD",
            "pledged": "1000.00",  # 1,000 + 300 withdrawn (300 − 300)
            "committed": "800.00",
            "disbursed": "500.00",
            "refunded": "0.00",
        },
    ]
    # EUR at 1.10; AFN 1,000 at 1/70 = 14.2857… rounded down to 14.28.
    assert body["totals_usd"] == {
        "pledged": "2650.00",  # 1,000 + (2,000 − 500) × 1.10
        "committed": "1900.00",  # 800 + 1,000 × 1.10
        "disbursed": "500.00",
        "refunded": "14.28",
        "lines_without_rate": 0,
    }
    kinds = [(line["kind"], line["amount"], line["currency"]) for line in body["lines"]]
    assert sorted(kinds) == sorted(
        [
            ("pledge", "1000.00", "USD"),
            ("pledge", "2000.00", "EUR"),
            ("pledge", "-500.00", "EUR"),
            ("pledge", "300.00", "USD"),
            ("pledge", "-300.00", "USD"),
            ("commitment", "800.00", "USD"),
            ("commitment", "1000.00", "EUR"),
            ("disbursement", "500.00", "USD"),
            ("refund", "-1000.00", "AFN"),
        ]
    )
    tranche = next(line for line in body["lines"] if line["kind"] == "disbursement")
    assert tranche["date"] == "2026-06-12"  # the value date
    assert (tranche["need_amount"], tranche["need_currency"]) == ("35000.00", "AFN")
    assert tranche["tranche_status"] == "received" and tranche["received_date"] == "2026-06-13"
    assert tranche["organization"] == "Kandahar Bread for Families"


def test_totals_reconcile_with_the_ledger(world, donor, donor_client):
    body = _get(donor_client).json()
    totals = {t["currency"]: t for t in body["totals"]}

    # What is left on the donor's pledge accounts = pledged − committed, per currency.
    keys = {p.currency_id: [] for p in world["pledges"]}
    for p in world["pledges"]:
        keys[p.currency_id].append(account_key(AccountKind.DONOR_PLEDGE, p.currency_id, p.pk))
    for currency, names in keys.items():
        held = sum(balances(*names).values())
        assert held == Decimal(totals[currency]["pledged"]) - Decimal(totals[currency]["committed"])

    # The legs the statement reads sum to its pledged and committed totals.
    legs = Leg.objects.filter(donor_legs_q(Donor(user=donor)))
    pledged = sum(
        (
            leg.amount
            for leg in legs
            if leg.transaction.iati_type == 13 and leg.currency_id == "USD"
        ),
        Decimal(0),
    )
    assert pledged == Decimal(totals["USD"]["pledged"])

    # The tranche left the need's account in AFN: as much as the statement's tranche lines.
    sent = Leg.objects.filter(
        transaction__key=f"disbursement-sent:{world['tranche'].pk}",
        account__kind=AccountKind.NEED.value,
    )
    afn = sum(
        Decimal(line["need_amount"])
        for line in body["lines"]
        if line["kind"] == "disbursement" and line["need_currency"] == "AFN"
    )
    assert -sum(leg.amount for leg in sent) == afn == Decimal("35000.00")

    # And the pledges' cached totals (checked against the ledger by reconcile) agree.
    for p in world["pledges"]:
        p.refresh_from_db()
    usd, eur, small = world["pledges"]
    assert usd.amount + small.amount == Decimal(totals["USD"]["pledged"])
    assert usd.committed_amount + small.committed_amount == Decimal(totals["USD"]["committed"])
    assert usd.disbursed_amount == Decimal(totals["USD"]["disbursed"])
    assert eur.amount == Decimal(totals["EUR"]["pledged"])


def test_a_sensitive_organization_is_its_pseudonym(world, donor_client):
    response = _get(donor_client)
    school = world["school"]
    assert SCHOOL not in response.content.decode()
    commitment = next(
        line for line in response.json()["lines"] if line["need"] == str(world["classes"].pk)
    )
    assert commitment["organization"] == school.pseudonym
    report = next(r for r in response.json()["reports"] if r["need"] == str(world["classes"].pk))
    assert report["organization"] == school.pseudonym
    assert report["narrative"] is None  # a sensitive organization's narrative stays with it
    assert report["people_reached"] is None  # 6 people: below the public minimum
    bread = next(r for r in response.json()["reports"] if r["need"] == str(world["bread"].pk))
    assert bread["people_reached"] == 140


def test_the_donor_sees_their_own_anonymous_pledge(world, donor_client):
    eur = world["pledges"][1]
    body = _get(donor_client).json()
    shown = next(p for p in body["pledges"] if p["id"] == str(eur.pk))
    assert shown["anonymous"] is True
    assert (shown["amount"], shown["original_amount"], shown["status"]) == (
        "1500.00",
        "2000.00",
        "partially_allocated",
    )


def test_another_donors_money_never_appears(world, donor_client):
    text = _get(donor_client).content.decode()
    assert str(world["other_pledge"].pk) not in text
    assert "777.00" not in text and "700.00" not in text and "Other Donor" not in text
    other = _get(client_for(world["other"])).json()
    assert [p["id"] for p in other["pledges"]] == [str(world["other_pledge"].pk)]
    assert other["totals"][0]["committed"] == "700.00"


def test_a_person_with_no_pledges_gets_an_empty_statement(db, clock):
    clock("2026-06-15T10:00:00+00:00")
    body = _get(client_for(UserFactory())).json()
    assert body["lines"] == [] and body["pledges"] == [] and body["totals"] == []
    assert body["totals_usd"]["disbursed"] == "0.00"


def test_another_year_is_empty(world, donor_client):
    assert _get(donor_client, year=2025).json()["lines"] == []


def test_a_donor_institutions_api_key_gets_the_institutions_statement(world, donor_client):
    institution = OrganizationFactory(name="Stichting Hulp", kind="donor_institution")
    PledgeFactory(
        donor=None, donor_organization=institution, amount=Decimal("4000.00"), currency_id="EUR"
    )
    _, key = ApiKeyFactory.create(organization=institution, scopes=["pledges:read"])
    body = _get(client_for(api_key=key)).json()
    assert body["donor"] == {"kind": "institution", "name": "Stichting Hulp"}
    assert body["totals"] == [
        {
            "currency": "EUR",
            "pledged": "4000.00",
            "committed": "0.00",
            "disbursed": "0.00",
            "refunded": "0.00",
        }
    ]
    assert body["totals_usd"]["pledged"] == "4400.00"
    # The person's statement does not include the institution's pledge.
    assert "4000.00" not in _get(donor_client).content.decode()


def test_keys_without_a_statement(world):
    institution = OrganizationFactory(kind="donor_institution")
    _, no_scope = ApiKeyFactory.create(organization=institution, scopes=["needs:read"])
    _, ngo_key = ApiKeyFactory.create(organization=world["food"], scopes=["pledges:read"])
    for key in (no_scope, ngo_key):
        response = _get(client_for(api_key=key))
        assert response.status_code == 403
        assert response["Content-Type"] == "application/problem+json"


def test_csv_one_row_per_line_with_formulas_defused(world, donor, donor_client):
    world["bread"].title = '=HYPERLINK("http://evil")'
    world["bread"].save(update_fields=["title"])
    response = _get(donor_client, format="csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="giving-statement-2026.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 9
    assert {r["kind"] for r in rows} == {"pledge", "commitment", "disbursement", "refund"}
    tranche = next(r for r in rows if r["kind"] == "disbursement")
    assert (tranche["amount"], tranche["need_amount"], tranche["amount_usd"]) == (
        "500.00",
        "35000.00",
        "500.00",
    )
    assert tranche["need_title"] == '\'=HYPERLINK("http://evil")'
    assert next(r for r in rows if r["kind"] == "refund")["amount"] == "-1000.00"  # a number
    accepted = donor_client.get(URL, {"year": 2026}, HTTP_ACCEPT="text/csv")
    assert accepted["Content-Type"].startswith("text/csv")


def _pdf_text(response) -> str:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_the_pdf_opens_and_holds_the_totals(world, donor_client):
    text = _pdf_text(_get(donor_client, format="pdf"))
    for expected in (
        "Giving statement 2026",
        "Dana Donor",
        "1500.00",  # EUR pledged
        "2650.00",  # USD pledged
        "1900.00",  # USD committed
        "35000.00 AFN",
        "How to read this statement",
        world["school"].pseudonym,
    ):
        assert expected in text, expected
    assert "HYPERLINK" not in text
    accepted = donor_client.get(URL, {"year": 2026}, HTTP_ACCEPT="application/pdf")
    assert accepted["Content-Type"] == "application/pdf"


def test_a_pdf_with_names_in_any_script(world, donor):
    donor.full_name = "سراج الدین ښځې ۍ"  # Dari and Pashto letters
    donor.save(update_fields=["full_name"])
    world["food"].name = "食物 🍞 Хлеб"  # no font has some of these: left out, not an error
    world["food"].save(update_fields=["name"])
    text = _pdf_text(_get(client_for(donor), format="pdf"))
    assert "Giving statement 2026" in text and "2650.00" in text


@pytest.mark.parametrize(
    "params",
    [{}, {"year": "abc"}, {"year": "1999"}, {"year": "2027"}, {"year": "2026", "format": "xml"}],
)
def test_bad_input_is_a_problem(world, donor_client, params):
    response = donor_client.get(URL, params)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"


def test_an_unknown_accept_and_no_credentials(world, donor_client):
    refused = donor_client.get(URL, {"year": 2026}, HTTP_ACCEPT="application/xml")
    assert refused.status_code == 406
    assert refused["Content-Type"] == "application/problem+json"
    anonymous = Client().get(URL, {"year": 2026})
    assert anonymous.status_code == 401
    assert anonymous["Content-Type"] == "application/problem+json"


def test_the_schema_types_every_format():
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/donors/me/statement"]["get"]
    content = operation["responses"]["200"]["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/Statement"}
    assert content["text/csv"]["schema"]["type"] == "string"
    assert content["application/pdf"]["schema"] == {"type": "string", "format": "binary"}
    assert content["application/octet-stream"]["schema"] == {"type": "string", "format": "binary"}
    names = {p["name"] for p in operation["parameters"]}
    assert {"year", "format"} <= names
