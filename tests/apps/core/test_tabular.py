"""CSV of every list endpoint (apps.core.tabular): the JSON list's rows, all pages, field by
field, with its filters and visibility; errors stay problems; formulas are defused."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aidmatch.access import MemberRole
from aidmatch.events import Audience, EventType
from apps.core import tabular
from apps.demo.world import build_world
from apps.events.relay import relay_pending
from apps.events.services import record_event
from apps.matching.models import MatchRun
from apps.organizations.invitations import invitation_create
from apps.screening.models import SanctionsList, ScreeningHit
from apps.webhooks import services as webhooks
from apps.webhooks.models import DeliveryAttempt, OwnerKind
from tests.apps.reports.test_story import receive
from tests.conftest import client_for
from tests.factories import ApiKeyFactory, NeedFactory, PledgeFactory

pytestmark = pytest.mark.django_db


def body_of(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def csv_rows(response) -> tuple[list[str], list[dict]]:
    assert response.status_code == 200, body_of(response)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    reader = csv.DictReader(io.StringIO(body_of(response)))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def json_rows(client, url: str) -> list[dict]:
    """Every row of a JSON list, following its cursor pages (small pages: several of them)."""
    sep = "&" if "?" in url else "?"
    response = client.get(f"{url}{sep}page_size=2")
    if response.status_code == 400:  # a list without pages
        response = client.get(url)
    assert response.status_code == 200, response.content
    data = response.json()
    if isinstance(data, list):
        return data
    rows = list(data["results"])
    while data["next"]:
        data = client.get(data["next"]).json()
        rows += data["results"]
    return rows


def flat(row: dict, header: list[str], prefix: str = "") -> dict:
    """A JSON row by CSV column: a nested object's fields as ``parent.child`` where the header
    has them (a nested serializer), else the value whole (a JSON column)."""
    out = {}
    for key, value in row.items():
        name = prefix + key
        children = [h for h in header if h.startswith(name + ".")]
        if isinstance(value, dict) and children:
            out.update(flat(value, header, name + "."))
        elif value is None and children:  # no nested object: its columns are empty
            out.update(dict.fromkeys(children))
        else:
            out[name] = value
    return out


def assert_same_rows(json_list: list[dict], header: list[str], csv_list: list[dict]) -> None:
    assert len(csv_list) == len(json_list)
    for expected, got in zip(json_list, csv_list, strict=True):
        for key, value in flat(expected, header).items():
            assert key in header, key
            assert got[key] == tabular.cell(value), key


@pytest.fixture
def world():
    """The demo world and a row or more in every list."""
    w = build_world()
    food, admin = w.organizations["food"], w.users["food_admin"]
    donor = w.users["donor"]
    need = NeedFactory(organization=food, amount=Decimal("5000.00"), currency_id="USD")
    receive(donor, food, need, "1000.00")
    PledgeFactory(donor=donor, amount=Decimal("300.00"))
    ApiKeyFactory.create(organization=food, scopes=["needs:read"])
    invitation_create(
        actor=admin, organization=food, email="new@example.org", role=MemberRole.STAFF
    )
    endpoint = webhooks.endpoint_create(
        owner_kind=OwnerKind.ORGANIZATION,
        organization=food,
        created_by=admin,
        url="https://hooks.example.org/aidmatch",
    )
    webhooks.endpoint_send_test(endpoint)
    staff = client_for(w.users["food_staff"])
    report = staff.post(
        "/api/v1/reports/",
        {
            "need": str(need.pk),
            "period_start": str(timezone.now().date() - timedelta(days=7)),
            "period_end": str(timezone.now().date()),
            "reached_women": 3,
            "reached_girls": 4,
            "reached_men": 1,
            "reached_boys": 2,
            "narrative": '=HYPERLINK("http://evil.example")',
            "amount_spent": "100.00",
        },
        format="json",
    )
    assert report.status_code == 201, report.content
    verifier = client_for(w.users["verifier"])
    for step in ("suspend", "reinstate"):
        done = verifier.post(
            f"/api/v1/organizations/{food.pk}/{step}", {"reason": "checking"}, format="json"
        )
        assert done.status_code == 200, done.content
    pdf = SimpleUploadedFile("letter.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
    uploaded = client_for(admin).post(
        f"/api/v1/organizations/{food.pk}/documents",
        {"kind": "bank_letter", "file": pdf},
        format="multipart",
    )
    assert uploaded.status_code == 201, uploaded.content
    delivery = endpoint.deliveries.get()
    DeliveryAttempt.objects.create(
        delivery=delivery, endpoint=endpoint, number=1, status_code=500, error="-1 refused"
    )
    MatchRun.objects.create(trigger=MatchRun.Trigger.MANUAL, reason="+ a test")
    for source, version in (("un", "2026-01"), ("eu", "=2026-11-28")):  # a formula-like cell
        SanctionsList.objects.create(source=source, version=version, file_sha256="a" * 64)
    ScreeningHit.objects.create(
        organization=food,
        subject_kind="name",
        subject_fingerprint="f" * 64,
        source="un",
        list_version="2026-01",
        entry_ref="QDi.1",
        matched_name="@someone",
        score=Decimal("91.50"),
        reasons=["name"],
    )
    record_event(
        EventType.PLEDGE_CREATED,
        resource_id="p1",
        payloads={Audience.DONOR: {"id": "p1", "amount": "10.00"}},
        donor_id=donor.pk,
    )
    relay_pending()  # the events of the world get their positions (the feed's order)
    w.endpoint = endpoint
    return w


def endpoints(w) -> dict[str, tuple[str, str | None]]:
    """Every list endpoint: its URL and who lists it (a caller who sees rows)."""
    food = w.organizations["food"].pk
    return {
        "needs": ("/api/v1/needs/", "verifier"),
        "organizations": ("/api/v1/organizations/", "verifier"),
        "members": (f"/api/v1/organizations/{food}/members/", "food_admin"),
        "invitations": (f"/api/v1/organizations/{food}/invitations", "food_admin"),
        "documents": (f"/api/v1/organizations/{food}/documents", "verifier"),
        "vetting": (f"/api/v1/organizations/{food}/vetting", "verifier"),
        "api-keys": ("/api/v1/api-keys/", "food_admin"),
        "pledges": ("/api/v1/pledges/", "donor"),
        "pledge-schedules": ("/api/v1/pledge-schedules/", "donor2"),
        "screening-lists": ("/api/v1/screening-lists/", "verifier"),
        "allocations": ("/api/v1/allocations/", "donor"),
        "match-runs": ("/api/v1/match-runs/", "verifier"),
        "disbursements": ("/api/v1/disbursements/", "donor"),
        "reports": ("/api/v1/reports/", "food_admin"),
        "exchange-rates": ("/api/v1/exchange-rates/", "verifier"),
        "audit-events": ("/api/v1/audit-events/", "verifier"),
        "screening-hits": ("/api/v1/screening-hits/", "verifier"),
        "events": ("/api/v1/events/", "verifier"),
        "webhook-endpoints": ("/api/v1/webhook-endpoints/", "food_admin"),
        "deliveries": (f"/api/v1/webhook-endpoints/{w.endpoint.pk}/deliveries/", "food_admin"),
        "provinces": ("/api/v1/reference/provinces/", None),
        "districts": ("/api/v1/reference/districts/?province=AF01", None),
        "sectors": ("/api/v1/reference/sectors/", None),
        "currencies": ("/api/v1/reference/currencies/", None),
        "flows": ("/api/v1/flows/", None),
    }


NAMES = [
    "needs",
    "organizations",
    "members",
    "invitations",
    "documents",
    "vetting",
    "api-keys",
    "pledges",
    "pledge-schedules",
    "screening-lists",
    "allocations",
    "match-runs",
    "disbursements",
    "reports",
    "exchange-rates",
    "audit-events",
    "screening-hits",
    "events",
    "webhook-endpoints",
    "deliveries",
    "provinces",
    "districts",
    "sectors",
    "currencies",
    "flows",
]


@pytest.mark.parametrize("name", NAMES)
def test_the_csv_holds_the_json_lists_rows_all_pages(name, world, monkeypatch):
    monkeypatch.setattr(tabular, "TABULAR_PAGE_SIZE", 2)  # several pages inside the export
    url, who = endpoints(world)[name]
    client = client_for(world.users[who] if who else None)

    expected = json_rows(client, url)
    sep = "&" if "?" in url else "?"
    header, by_format = csv_rows(client.get(f"{url}{sep}format=csv"))
    header_too, by_accept = csv_rows(client.get(url, HTTP_ACCEPT="text/csv"))

    assert by_format == by_accept and header == header_too
    assert_same_rows(expected, header, by_format)
    assert len(header) == len(set(header))


def _routed_views(patterns=None) -> set[type]:
    from django.urls import get_resolver

    found = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if hasattr(pattern, "url_patterns"):
            found |= _routed_views(pattern.url_patterns)
        elif getattr(pattern.callback, "cls", None) is not None:
            found.add(pattern.callback.cls)
    return found


def test_every_list_endpoint_is_covered(world):
    """Every routed list view has the mixin (a new one without it fails here), and each is in
    the parametrized test above."""
    from rest_framework.mixins import ListModelMixin

    from apps.core.tabular import TabularListMixin

    assert sorted(endpoints(world)) == sorted(NAMES)
    views = _routed_views()
    lists = {v.__name__ for v in views if issubclass(v, ListModelMixin)}
    tabular_views = {v.__name__ for v in views if issubclass(v, TabularListMixin)}
    assert lists - tabular_views == set()
    assert {"DocumentListView", "VettingHistoryView"} <= tabular_views  # lists as APIViews
    assert len(tabular_views) == 23


def test_a_header_even_without_rows(world):
    client = client_for(world.users["verifier"])
    header, rows = csv_rows(client.get("/api/v1/needs/?format=csv&province=AF34"))
    assert rows == []
    assert header[:4] == ["id", "status", "sector", "province"]
    assert "organization.name" in header


def test_filters_and_ordering_are_the_jsons(world):
    client = client_for(world.users["verifier"])
    url = "/api/v1/needs/?province=AF01&ordering=-deadline"
    header, rows = csv_rows(client.get(url, HTTP_ACCEPT="text/csv"))
    expected = json_rows(client, url)
    assert rows and all(r["province"] == "AF01" for r in rows)
    assert [r["id"] for r in rows] == [r["id"] for r in expected]
    assert_same_rows(expected, header, rows)


@pytest.mark.parametrize("who", [None, "donor"])
def test_a_donor_or_anyone_sees_in_csv_what_json_shows_them(world, who):
    client = client_for(world.users[who] if who else None)
    header, rows = csv_rows(client.get("/api/v1/needs/?format=csv"))
    expected = json_rows(client, "/api/v1/needs/")
    assert_same_rows(expected, header, rows)
    text = body_of(client.get("/api/v1/needs/?format=csv"))
    school = world.organizations["school"]
    assert school.name not in text  # a sensitive organization: its pseudonym at most
    for row in rows:  # what the caller's level does not show is an empty cell
        assert row["location_detail"] == ""
        assert row["organization_name"] == ""


def test_a_sensitive_organizations_name_never_reaches_an_outsiders_csv(world):
    school = world.organizations["school"]
    for who in (None, "donor", "donor2", "food_admin"):
        client = client_for(world.users[who] if who else None)
        for url in ("/api/v1/organizations/", "/api/v1/needs/"):
            response = client.get(url, {"format": "csv"})
            if response.status_code == 401:
                continue
            text = body_of(response)
            assert school.name not in text
            assert school.contact_email not in text
            assert school.contact_phone not in text


def test_a_bad_filter_is_a_problem_not_a_file(world):
    client = client_for(world.users["verifier"])
    for kwargs in ({"HTTP_ACCEPT": "text/csv"}, {}):
        fmt = "" if kwargs else "&format=csv"
        response = client.get(f"/api/v1/needs/?province=XX{fmt}", **kwargs)
        assert response.status_code == 400
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["errors"]["province"]
        assert not response.streaming


def test_anonymous_on_a_private_list_is_a_401_problem():
    for url in ("/api/v1/pledges/?format=csv", "/api/v1/audit-events/?format=csv"):
        response = client_for().get(url)
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "not_authenticated"
    response = client_for().get("/api/v1/organizations/", HTTP_ACCEPT="text/csv")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_a_donor_on_the_audit_trail_is_a_403_problem(donor):
    response = client_for(donor).get("/api/v1/audit-events/", HTTP_ACCEPT="text/csv")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


def test_details_and_other_actions_still_refuse_csv(world):
    client = client_for(world.users["verifier"])
    need = next(iter(world.needs.values()))
    response = client.get(f"/api/v1/needs/{need.pk}/", HTTP_ACCEPT="text/csv")
    assert response.status_code == 406
    assert response["Content-Type"] == "application/problem+json"
    response = client.get(f"/api/v1/needs/{need.pk}/?format=csv")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_hxl_only_where_a_list_has_hashtags(world):
    client = client_for(world.users["verifier"])
    response = client.get("/api/v1/pledges/?format=hxl")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert client.get("/api/v1/pledges/?format=xlsx").status_code == 404


def test_formula_cells_get_a_quote_and_numbers_stay_numbers(world):
    client = client_for(world.users["food_admin"])
    _, rows = csv_rows(client.get("/api/v1/reports/?format=csv"))
    (row,) = [r for r in rows if r["narrative"].startswith("'")]
    assert row["narrative"] == '\'=HYPERLINK("http://evil.example")'
    assert row["amount_spent"] == "100.00"
    cases = {
        "=1+2": "'=1+2",
        "+cmd": "'+cmd",
        "-x": "'-x",
        "@SUM(A1)": "'@SUM(A1)",
        "\tx": "'\tx",
        "\rx": "'\rx",
        "-12.50": "-12.50",
        "+3": "+3",
        "-1e5": "-1e5",
        "Kabul": "Kabul",
        "": "",
    }
    for text, expected in cases.items():
        assert tabular.cell(text) == expected
    assert tabular.cell(["a", "=b"]) == "a; =b"
    assert tabular.cell(["=a", "b"]) == "'=a; b"
    assert tabular.cell([{"a": 1}]) == '[{"a": 1}]'
    assert tabular.cell(True) == "true"
    assert tabular.cell(None) == ""


def test_the_query_count_grows_with_pages_not_rows(world, monkeypatch):
    client = client_for(world.users["verifier"])
    monkeypatch.setattr(tabular, "TABULAR_PAGE_SIZE", 1000)
    food = world.organizations["food"]

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            csv_rows(client.get("/api/v1/needs/?format=csv"))
        return len(ctx.captured_queries)

    few = count()
    for _ in range(40):
        NeedFactory(organization=food)
    many = count()
    assert many == few


def test_confidential_reads_in_a_csv_are_audited_as_in_json(world, monkeypatch):
    """Every page of the export is audited as the JSON page is: one confidential.read per need
    whose exact location the caller got, by the caller (not "system"), written as it streams."""
    from apps.audit.models import AuditEvent

    monkeypatch.setattr(tabular, "TABULAR_PAGE_SIZE", 2)  # pages built while streaming
    verifier = world.users["verifier"]
    client = client_for(verifier)

    def reads_after(call) -> list[tuple]:
        last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        call()
        events = AuditEvent.objects.filter(id__gt=last, action="confidential.read")
        return sorted(events.values_list("actor", "object_id"))

    by_json = reads_after(lambda: json_rows(client, "/api/v1/needs/"))
    by_csv = reads_after(lambda: csv_rows(client.get("/api/v1/needs/?format=csv")))

    assert len(by_json) >= 3
    assert by_csv == by_json
    assert {actor for actor, _ in by_csv} == {f"user:{verifier.pk}"}
