"""FTS-style flows: rows and parent links, totals that are the ledger's, filters, and nobody
exposed (non-publishing organizations, sensitive names, anonymous and private donors)."""

import csv
import io
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aidmatch.ledger import AccountKind
from apps.disbursements import services as tranches
from apps.ledger.models import Leg
from apps.matching.services.allocations import allocation_commit
from apps.pledges.services import pledge_reduce
from apps.reference.models import Currency
from tests.conftest import client_for
from tests.factories import (
    MembershipFactory,
    NeedFactory,
    OrganizationFactory,
    PledgeFactory,
    UserFactory,
)
from tests.factories import propose as proposal
from tests.factories.fx import ExchangeRateFactory

D = Decimal
HIDDEN_NAME = "Hidden Valley Clinic"
SENSITIVE_NAME = "Women's Shelter Kandahar"
ANON_NAME, ANON_EMAIL = "Zarmina Secretgiver", "zarmina.secret@example.org"
PRIVATE_NAME, PRIVATE_EMAIL = "Parwiz Privatedonor", "parwiz.private@example.org"
INSTITUTION = "Nordic Relief Fund"


@dataclass
class World:
    named: object  # publishing organization
    sensitive: object
    hidden: object
    need_a: object
    need_afn: object
    need_s: object
    need_h: object
    pledge_inst: object
    pledge_anon: object
    pledge_private: object
    pledge_pool: object
    tranche_a: object
    tranche_s: object


def _commit(pledge, need, amount, need_amount=None):
    return allocation_commit(allocation_id=proposal(pledge, need, D(amount), need_amount).pk)


def _send(actor, allocation, amount, currency="USD"):
    cur = Currency.objects.get(code=currency)
    tranche = tranches.disbursement_create(
        actor=actor, allocation_ids=[allocation.pk], amount=D(amount), currency=cur, channel="bank"
    )
    return tranches.disbursement_mark_sent(disbursement_id=tranche.pk, actor=actor)


def build_world() -> World:
    ExchangeRateFactory(base_id="USD", quote_id="AFN", rate=D("70"), date=timezone.localdate())
    named = OrganizationFactory(
        name="Herat Family Food Relief", publish_open_data=True, iati_org_id="AF-CCD-1234"
    )
    sensitive = OrganizationFactory(name=SENSITIVE_NAME, sensitive=True, publish_open_data=True)
    hidden = OrganizationFactory(name=HIDDEN_NAME, publish_open_data=False)
    staff_named = MembershipFactory(organization=named).user
    need_a = NeedFactory(organization=named, province_id="AF01", sector_id="food_security")
    need_afn = NeedFactory(
        organization=named,
        province_id="AF02",
        sector_id="health",
        currency_id="AFN",
        amount=D("700000.00"),
    )
    need_s = NeedFactory(organization=sensitive, province_id="AF03", title="Shelter in secret")
    need_h = NeedFactory(organization=hidden, title="Clinic behind the hill")

    institution = OrganizationFactory(
        name=INSTITUTION, kind="donor_institution", publish_open_data=True, iati_org_id="XM-NRF"
    )
    officer = MembershipFactory(organization=institution).user
    anon_donor = UserFactory(full_name=ANON_NAME, email=ANON_EMAIL)
    private_donor = UserFactory(full_name=PRIVATE_NAME, email=PRIVATE_EMAIL)

    pledge_inst = PledgeFactory(donor=officer, donor_organization=institution, amount=D("1000.00"))
    pledge_anon = PledgeFactory(donor=anon_donor, anonymous=True, amount=D("500.00"))
    pledge_private = PledgeFactory(donor=private_donor, amount=D("800.00"))
    # Earmarked to a non-publishing organization's need: shown as AidMatch's pool.
    pledge_pool = PledgeFactory(donor=private_donor, amount=D("50.00"), earmark_need=need_h)

    # Institution → named organization: committed, sent, received, partly refunded.
    alloc_a = _commit(pledge_inst, need_a, "300.00")
    tranche_a = _send(officer, alloc_a, "300.00")
    usd = Currency.objects.get(code="USD")
    tranches.disbursement_confirm_receipt(
        disbursement_id=tranche_a.pk,
        acting_for={named.pk},
        received_amount=D("300.00"),
        received_currency=usd,
    )
    tranches.disbursement_refund(
        disbursement_id=tranche_a.pk,
        actor=staff_named,
        acting_for={named.pk},
        amount=D("50.00"),
        currency=usd,
        reason="a family moved away",
    )
    # Anonymous → sensitive organization: committed, sent, then failed (a reversal).
    alloc_s = _commit(pledge_anon, need_s, "200.00")
    tranche_s = _send(anon_donor, alloc_s, "200.00")
    tranches.disbursement_mark_failed(
        disbursement_id=tranche_s.pk, actor=anon_donor, reason="the bank refused it"
    )
    # Private → an AFN need of the named organization, and → the hidden organization; then
    # reduced (a pledge reversal).
    _commit(pledge_private, need_afn, "100.00", D("7000.00"))
    _commit(pledge_private, need_h, "150.00")
    pledge_reduce(pledge_id=pledge_private.pk, actor=private_donor, amount=D("600.00"))
    return World(
        named, sensitive, hidden, need_a, need_afn, need_s, need_h,
        pledge_inst, pledge_anon, pledge_private, pledge_pool, tranche_a, tranche_s,
    )  # fmt: skip


def all_rows(client, query=None):
    rows, url, params = [], "/api/v1/flows/", dict(query or {}, page_size=3)
    while url:
        response = client.get(url, params)
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        url, params = body["next"], None
    return rows


def ledger_totals(world) -> dict[tuple[str, str], Decimal]:
    """What the ledger says each status moved, per currency, for what may be published:
    incoming pledges on pledge accounts; commitments on needs of publishing organizations;
    tranches leaving those needs, less refunds out of those organizations."""
    shown = [world.named.pk, world.sensitive.pk]
    totals: dict = defaultdict(Decimal)
    for leg in Leg.objects.filter(
        transaction__iati_type=13, account__kind=AccountKind.DONOR_PLEDGE
    ):
        totals[("pledge", leg.currency_id)] += leg.amount
    for leg in Leg.objects.filter(
        transaction__iati_type=2, account__kind=AccountKind.NEED,
        account__need__organization__in=shown,
    ):  # fmt: skip
        totals[("commitment", leg.currency_id)] += leg.amount
    for leg in Leg.objects.filter(
        Q(account__kind=AccountKind.NEED, account__need__organization__in=shown)
        | Q(account__kind=AccountKind.ORGANIZATION, account__organization__in=shown,
            transaction__key__startswith="disbursement-refund:"),
        transaction__iati_type=3,
    ):  # fmt: skip
        totals[("paid", leg.currency_id)] += (
            leg.amount if leg.account.kind == AccountKind.ORGANIZATION else -leg.amount
        )
    return {k: v for k, v in totals.items()}


@pytest.mark.django_db
def test_totals_per_status_and_currency_are_the_ledgers(anon):
    world = build_world()
    rows = all_rows(anon)

    totals: dict = defaultdict(Decimal)
    for row in rows:
        totals[(row["status"], row["currency"])] += D(row["amount"])
    assert dict(totals) == ledger_totals(world)
    assert totals[("pledge", "USD")] == D("1000") + D("500") + D("600") + D("50")
    assert totals[("commitment", "USD")] == D("300") + D("200")  # not the hidden need's 150
    assert totals[("commitment", "AFN")] == D("7000")
    assert totals[("paid", "USD")] == D("300") + D("200") - D("200") - D("50")
    assert len({row["id"] for row in rows}) == len(rows)
    assert [row["id"] for row in rows] == sorted(row["id"] for row in rows)


@pytest.mark.django_db
def test_rows_and_parent_links_run_pledge_commitment_paid(anon):
    world = build_world()
    rows = all_rows(anon)
    by_id = {row["id"]: row for row in rows}

    (paid_a,) = [r for r in rows if r["need_id"] == str(world.need_a.pk) and r["status"] ==
                 "paid" and not r["reversal"]]  # fmt: skip
    assert (paid_a["amount"], paid_a["currency"], paid_a["amount_usd"]) == (
        "300.00",
        "USD",
        "300.00",
    )
    assert paid_a["boundary"] == "outgoing"
    assert (paid_a["source_name"], paid_a["source_ref"]) == (INSTITUTION, "XM-NRF")
    assert (paid_a["destination_name"], paid_a["destination_ref"]) == (
        "Herat Family Food Relief",
        "AF-CCD-1234",
    )
    assert paid_a["need_title"] == world.need_a.title
    assert (paid_a["province"], paid_a["sector"]) == ("AF01", "food_security")
    (commitment_id,) = paid_a["parent_flow_ids"]
    commitment = by_id[commitment_id]
    assert (commitment["status"], commitment["amount"], commitment["boundary"]) == (
        "commitment",
        "300.00",
        "internal",
    )
    (pledge_id,) = commitment["parent_flow_ids"]
    pledge = by_id[pledge_id]
    assert (pledge["status"], pledge["amount"], pledge["parent_flow_ids"]) == (
        "pledge",
        "1000.00",
        [],
    )
    assert pledge["destination_name"] == "AidMatch pool"
    assert pledge["organization_id"] is None and pledge["boundary"] == "incoming"

    # The refund: a negative payment, a reversal of the tranche's payment.
    (refund,) = [r for r in rows if r["status"] == "paid" and r["amount"] == "-50.00"]
    assert refund["reversal"] and refund["parent_flow_ids"] == [paid_a["id"]]
    assert refund["organization_id"] == str(world.named.pk) and refund["need_id"] is None

    # The failed tranche: its payment, and the reversal pointing at it.
    paid_s = [r for r in rows if r["need_id"] == str(world.need_s.pk) and r["status"] == "paid"]
    sent, back = sorted(paid_s, key=lambda r: r["id"])
    assert (sent["amount"], back["amount"], back["reversal"]) == ("200.00", "-200.00", True)
    assert back["parent_flow_ids"] == [sent["id"]]

    # The pledge's reduction: its own row, pointing at the pledge.
    (reduced,) = [r for r in rows if r["status"] == "pledge" and r["reversal"]]
    assert reduced["amount"] == "-200.00"
    made = by_id[reduced["parent_flow_ids"][0]]
    assert made["amount"] == "800.00" and made["source_name"] == "private donor"

    # In another currency: the amount as booked, and USD at the value date's rate.
    (afn,) = [r for r in rows if r["currency"] == "AFN"]
    assert (afn["amount"], afn["amount_usd"], afn["usd_missing_reason"]) == (
        "7000.00",
        "99.99",  # 1/70 rounded down at 10 places (aidmatch.fx), then down to cents
        None,
    )
    assert afn["date"] == str(timezone.now().date())


@pytest.mark.django_db
def test_usd_is_null_with_a_reason_when_no_rate_is_known(anon):
    ExchangeRateFactory(base_id="USD", quote_id="AFN", rate=D("70"), date=timezone.localdate())
    PledgeFactory(amount=D("7000.00"), currency_id="AFN")
    PledgeFactory(amount=D("10.00"), currency_id="EUR")

    rows = {r["currency"]: r for r in all_rows(anon)}

    assert rows["AFN"]["amount_usd"] == "99.99"
    assert (rows["EUR"]["amount_usd"], rows["EUR"]["usd_missing_reason"]) == (None, "no_rate")


@pytest.mark.django_db
def test_nobody_hidden_appears_in_the_flows(anon, donor_client):
    world = build_world()

    for client in (anon, donor_client):
        response = client.get("/api/v1/flows/", {"page_size": 1000})
        assert response.status_code == 200
        body = response.content.decode()
        for secret in (
            HIDDEN_NAME,
            str(world.hidden.pk),
            str(world.need_h.pk),
            world.need_h.title,
            SENSITIVE_NAME,
            world.need_s.title,
            world.sensitive.contact_email,
            ANON_NAME,
            ANON_EMAIL,
            PRIVATE_NAME,
            PRIVATE_EMAIL,
        ):
            assert secret not in body, secret
    rows = all_rows(anon)
    shown = [r for r in rows if r["organization_id"] == str(world.sensitive.pk)]
    assert shown and {r["destination_name"] for r in shown} == {world.sensitive.pseudonym}
    assert {r["need_title"] for r in shown} == {None}
    assert {r["destination_ref"] for r in shown} == {None}
    assert {r["source_name"] for r in shown} == {"anonymous donor"}
    assert {r["source_name"] for r in rows} == {
        INSTITUTION,
        "anonymous donor",
        "private donor",
    }


@pytest.mark.django_db
def test_filters(anon):
    world = build_world()
    every = all_rows(anon)

    def ids(**query):
        return {r["id"] for r in all_rows(anon, query)}

    assert ids(status="paid") == {r["id"] for r in every if r["status"] == "paid"}
    assert ids(province="AF02") == {r["id"] for r in every if r["currency"] == "AFN"}
    assert ids(sector="health") == ids(province="AF02")
    assert ids(organization=str(world.sensitive.pk)) == {
        r["id"] for r in every if r["organization_id"] == str(world.sensitive.pk)
    }
    year = timezone.now().year
    assert ids(year=year) == {r["id"] for r in every}
    assert ids(year=year - 1) == set()
    assert ids(status="commitment", organization=str(world.named.pk)) == {
        r["id"]
        for r in every
        if r["status"] == "commitment" and r["organization_id"] == str(world.named.pk)
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"province": "AF99"},
        {"sector": "weapons"},
        {"status": "spent"},
        {"year": "last"},
        {"organization": "not-a-uuid"},
        {"organization": "HIDDEN"},
        {"organization": "UNKNOWN"},
    ],
)
def test_bad_filters_are_a_400_problem(anon, query):
    hidden = OrganizationFactory(publish_open_data=False)
    if query.get("organization") == "HIDDEN":
        query = {"organization": str(hidden.pk)}
    if query.get("organization") == "UNKNOWN":
        query = {"organization": str(uuid.uuid4())}

    response = anon.get("/api/v1/flows/", query)

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert set(query) <= set(response.json()["errors"])


@pytest.mark.django_db
def test_signed_in_callers_and_api_keys_see_the_same_rows(anon, donor_client, api_key_x):
    build_world()
    expected = anon.get("/api/v1/flows/", {"page_size": 1000}).json()["results"]

    assert donor_client.get("/api/v1/flows/", {"page_size": 1000}).json()["results"] == expected
    by_key = client_for(api_key=api_key_x).get("/api/v1/flows/", {"page_size": 1000})
    assert by_key.status_code == 200 and by_key.json()["results"] == expected


@pytest.mark.django_db
def test_a_pages_query_count_does_not_grow_with_its_length(anon):
    build_world()

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = anon.get("/api/v1/flows/", {"page_size": 1000})
        assert response.status_code == 200
        return len(captured), len(response.json()["results"])

    few, few_rows = queries()
    for _ in range(4):
        build_world_extra()
    many, many_rows = queries()

    assert many_rows >= few_rows + 4 * 3  # a pledge, a commitment and a payment each
    # rows, rates, refunds, tranches' lines (and their commitments), donors (and their pledges'
    # legs), and one query per kind of parent left (reversed legs, refunded tranches)
    assert many == few <= 9


def build_world_extra():
    """One more donor's money to the named organizations' needs, sent."""
    org = OrganizationFactory(publish_open_data=True)
    need = NeedFactory(organization=org)
    donor = UserFactory()
    pledge = PledgeFactory(donor=donor, amount=D("100.00"))
    return _send(donor, _commit(pledge, need, "40.00"), "40.00")


@pytest.mark.django_db
def test_the_csv_is_the_json_whatever_its_internal_page_size(anon, monkeypatch):
    """The export's own page size (5,000) changes nothing in its rows: pages of 2 give the same
    file, and every row is the JSON row (ids, parents, names, amounts, order)."""
    from apps.core import tabular
    from apps.opendata.api.flow_views import FlowListView

    build_world()
    for _ in range(2):
        build_world_extra()
    expected = all_rows(anon)
    big = anon.get("/api/v1/flows/", {"format": "csv"})
    monkeypatch.setattr(FlowListView, "tabular_page_size", 2)
    small = anon.get("/api/v1/flows/", {"format": "csv"})

    assert big.status_code == small.status_code == 200
    body = b"".join(big.streaming_content).decode()
    assert b"".join(small.streaming_content).decode() == body
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == len(expected) > 2
    for row, json_row in zip(rows, expected, strict=True):
        assert row == {key: tabular.cell(value) for key, value in json_row.items()}
