"""IATI 2.03 activities and organisation files: valid against the XSDs and the codelists,
reconciled with the ledger, and naming no one who must stay hidden."""

import io
from collections import defaultdict
from decimal import Decimal

import pytest
from lxml import etree

from aidmatch.ledger import AccountKind
from apps.ledger.models import Leg
from apps.opendata.iati import write_activities, write_organisation
from tests.apps.opendata.iati_world import build_world, codelist, schema

pytestmark = pytest.mark.django_db

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# SectorVocabulary 10 (IASC Humanitarian Global Clusters): the codelist it names is HDX's
# "Global Coordination Groups" (not shipped with the IATI codelists): its codes.
GLOBAL_CLUSTERS = {
    "CCM", "EDU", "ERY", "TEL", "FSC", "HEA", "LOG", "NUT", "PRO", "PRO-CPN", "PRO-GBV",
    "PRO-HLP", "PRO-MIN", "SHL", "WSH",
}  # fmt: skip

# Every coded attribute AidMatch writes, with its codelist: (element, attribute) → codes.
CODED = {
    ("iati-activities", "version"): "Version",
    ("iati-organisations", "version"): "Version",
    ("iati-activity", XML_LANG): "Language",
    ("iati-organisation", XML_LANG): "Language",
    ("iati-activity", "default-currency"): "Currency",
    ("reporting-org", "type"): "OrganisationType",
    ("participating-org", "role"): "OrganisationRole",
    ("participating-org", "type"): "OrganisationType",
    ("description", "type"): "DescriptionType",
    ("activity-status", "code"): "ActivityStatus",
    ("activity-date", "type"): "ActivityDateType",
    ("recipient-country", "code"): "Country",
    ("administrative", "vocabulary"): "GeographicVocabulary",
    ("exactness", "code"): "GeographicExactness",
    ("location-class", "code"): "GeographicLocationClass",
    ("feature-designation", "code"): "LocationType",
    ("sector", "vocabulary"): "SectorVocabulary",
    ("budget", "type"): "BudgetType",
    ("budget", "status"): "BudgetStatus",
    ("total-budget", "status"): "BudgetStatus",
    ("value", "currency"): "Currency",
    ("transaction-type", "code"): "TransactionType",
    ("result", "type"): "ResultType",
    ("indicator", "measure"): "IndicatorMeasure",
}
# Attributes that carry no code: dates, amounts, identifiers, flags, P-codes (checked apart).
PLAIN = {
    ("iati-activities", "generated-datetime"),
    ("iati-organisations", "generated-datetime"),
    ("iati-activity", "last-updated-datetime"),
    ("iati-organisation", "last-updated-datetime"),
    ("iati-activity", "humanitarian"),
    ("reporting-org", "ref"),
    ("participating-org", "ref"),
    ("provider-org", "ref"),
    ("provider-org", "provider-activity-id"),
    ("activity-date", "iso-date"),
    ("transaction-date", "iso-date"),
    ("period-start", "iso-date"),
    ("period-end", "iso-date"),
    ("value", "value-date"),
    ("recipient-country", "percentage"),
    ("sector", "percentage"),
    ("sector", "code"),
    ("administrative", "code"),
    ("administrative", "level"),
    ("result", "aggregation-status"),
    ("indicator", "aggregation-status"),
    ("indicator", "ascending"),
    ("actual", "value"),
    ("dimension", "name"),
    ("dimension", "value"),
}


def _codes_are_on_their_codelists(root) -> None:
    lists = {name: codelist(name) for name in set(CODED.values())}
    lists["Language"] = {code.lower() for code in lists["Language"]}
    dac5, vocabularies = codelist("Sector"), lists["SectorVocabulary"]
    written = set()
    for element in root.iter():
        for attribute, value in element.attrib.items():
            pair = (element.tag, attribute)
            written.add(pair)
            assert pair in CODED or pair in PLAIN, f"unchecked attribute {pair}"
            if pair in CODED:
                assert value in lists[CODED[pair]], f"{pair}={value} not on {CODED[pair]}"
        if element.tag == "sector":
            assert element.get("vocabulary") in vocabularies
            on = {"1": dac5, "10": GLOBAL_CLUSTERS}[element.get("vocabulary")]
            assert element.get("code") in on, element.get("code")
    return written


def _activities(org) -> tuple[bytes, int]:
    out = io.BytesIO()
    count = write_activities(org, out)
    return out.getvalue(), count


def _by_id(root) -> dict:
    return {a.findtext("iati-identifier"): a for a in root.iter("iati-activity")}


def _ledger_totals(need_id) -> dict:
    totals = defaultdict(Decimal)
    for amount, kind in Leg.objects.filter(
        account__kind=AccountKind.NEED.value, account__need_id=need_id
    ).values_list("amount", "transaction__iati_type"):
        totals[{2: "11", 3: "1"}[kind]] += amount if kind == 2 else -amount
    for (amount,) in Leg.objects.filter(
        account__kind=AccountKind.ORGANIZATION.value,
        transaction__need_id=need_id,
        transaction__iati_type=4,
    ).values_list("amount"):
        totals["4"] -= amount
    for (amount,) in Leg.objects.filter(
        account__kind=AccountKind.DONOR_PLEDGE.value,
        account__pledge__earmark_need_id=need_id,
        transaction__iati_type=13,
    ).values_list("amount"):
        totals["13"] += amount
    return dict(totals)


def test_the_activities_file_validates_against_the_schema_and_the_codelists(verifier_client):
    world = build_world(verifier_client)
    codes_written = set()
    for org in (world.open_org, world.hidden_org):
        body, count = _activities(org)
        root = etree.fromstring(body)
        schema("iati-activities-schema.xsd").assertValid(root)
        assert count == len(root.findall("iati-activity")) == 1
        codes_written |= _codes_are_on_their_codelists(root)
        organisation = io.BytesIO()
        write_organisation(org, organisation)
        org_root = etree.fromstring(organisation.getvalue())
        schema("iati-organisations-schema.xsd").assertValid(org_root)
        codes_written |= _codes_are_on_their_codelists(org_root)
    # the file writes every kind of code the checks above know
    assert {("transaction-type", "code"), ("result", "type"), ("total-budget", "status")} <= (
        codes_written
    )


def test_an_activity_says_who_what_where_and_how_much(verifier_client):
    world = build_world(verifier_client)
    body, _ = _activities(world.open_org)
    activity = _by_id(etree.fromstring(body))[f"AF-COA-1234-{world.open_need}"]

    assert activity.get("humanitarian") == "1"
    reporting = activity.find("reporting-org")
    assert (reporting.get("ref"), reporting.findtext("narrative")) == (
        "AF-COA-1234",
        "Herat Family Food Relief",
    )
    assert activity.findtext("title/narrative").startswith("Food packages for 40 families")
    orgs = [
        (p.get("role"), p.get("ref"), p.findtext("narrative"))
        for p in activity.iter("participating-org")
    ]
    assert orgs == [
        ("1", "XM-DAC-7777", "Nordic Relief Fund"),
        ("1", None, "private donor"),
        ("4", "AF-COA-1234", "Herat Family Food Relief"),
    ]
    assert activity.find("activity-status").get("code") == "2"  # partially funded
    assert activity.find("recipient-country").get("code") == "AF"
    admin = [
        (a.get("vocabulary"), a.get("level"), a.get("code"))
        for a in activity.iter("administrative")
    ]
    assert admin == [("A2", "1", "AF32")]
    sectors = {
        (s.get("vocabulary"), s.get("code"), s.get("percentage")) for s in activity.iter("sector")
    }
    assert sectors == {("1", "72040", "50.00"), ("1", "52010", "50.00"), ("10", "FSC", "100")}
    assert activity.findtext("budget/value") == "4800.0000"

    transactions = [
        (
            t.find("transaction-type").get("code"),
            Decimal(t.findtext("value")),
            t.find("provider-org").get("ref") if t.find("provider-org") is not None else None,
            t.find("provider-org").get("provider-activity-id")
            if t.find("provider-org") is not None
            else None,
        )
        for t in activity.iter("transaction")
    ]
    assert ("13", Decimal("2000"), "XM-DAC-7777", "XM-DAC-7777-AF-26") in transactions
    assert ("11", Decimal("2000"), "XM-DAC-7777", "XM-DAC-7777-AF-26") in transactions
    assert ("11", Decimal("1000"), None, None) in transactions
    assert ("1", Decimal("1000"), None, None) in transactions
    assert ("4", Decimal("900"), None, None) in transactions

    actuals = {
        tuple(d.get("value") for d in a.iter("dimension")): a.get("value")
        for a in activity.iter("actual")
    }
    assert actuals == {
        ("female", "adult"): "60",
        ("female", "child"): "90",
        ("male", "adult"): "20",
        ("male", "child"): "80",
    }


def test_transactions_total_the_ledger(verifier_client):
    world = build_world(verifier_client)
    for org, need in ((world.open_org, world.open_need), (world.hidden_org, world.hidden_need)):
        body, _ = _activities(org)
        (activity,) = etree.fromstring(body).iter("iati-activity")
        written = defaultdict(Decimal)
        for t in activity.iter("transaction"):
            written[t.find("transaction-type").get("code")] += Decimal(t.findtext("value"))
        assert dict(written) == _ledger_totals(need)
        assert written["1"] > 0 and written["11"] > 0 and written["4"] > 0


def test_a_sensitive_organizations_file_names_no_one(verifier_client):
    world = build_world(verifier_client)
    body, _ = _activities(world.hidden_org)
    organisation = io.BytesIO()
    write_organisation(world.hidden_org, organisation)
    for raw in (body, organisation.getvalue()):
        for secret in world.secrets:
            assert secret.encode() not in raw, secret
        assert world.hidden_org.pseudonym.encode() in raw
    activity = etree.fromstring(body).find("iati-activity")
    assert activity.find("reporting-org").get("ref") == "XI-IATI-AIDMATCH"
    assert activity.findtext("iati-identifier") == f"XI-IATI-AIDMATCH-{world.hidden_need}"
    providers = {p.findtext("narrative") for p in activity.iter("provider-org")}
    assert providers == {"anonymous donor"}
    implementing = [p for p in activity.iter("participating-org") if p.get("role") == "4"]
    assert [(p.get("ref"), p.findtext("narrative")) for p in implementing] == [
        (None, world.hidden_org.pseudonym)
    ]
    # a small cell (3 boys): the total only
    assert [(a.get("value"), len(a)) for a in activity.iter("actual")] == [("30", 0)]
