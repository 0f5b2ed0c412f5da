"""GET /api/v1/events/: the caller's own events, in position order, by cursor, filtered by type
and resource; API keys need events:read; bad filters are 400 problems."""

from decimal import Decimal

import pytest

from aidmatch.events import EventType
from apps.events.relay import relay_pending
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

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(donor):
    """Two organizations, two donors (one an institution with an API key), some proposals."""
    org_a, org_b = OrganizationFactory(), OrganizationFactory()
    institution = OrganizationFactory(kind="donor_institution")
    other = UserFactory(full_name="Omar Other")
    need_a = NeedFactory(organization=org_a, amount=Decimal("5000.00"))
    need_b = NeedFactory(organization=org_b, amount=Decimal("5000.00"))
    mine = PledgeFactory(donor=donor, amount=Decimal("3000.00"))
    theirs = PledgeFactory(donor=other, amount=Decimal("3000.00"))
    institutional = PledgeFactory(
        donor=None, donor_organization=institution, amount=Decimal("3000.00")
    )
    allocations = {
        "mine_a": propose(mine, need_a, Decimal("100.00")),
        "mine_b": propose(mine, need_b, Decimal("100.00")),
        "theirs_a": propose(theirs, need_a, Decimal("100.00")),
        "inst_b": propose(institutional, need_b, Decimal("100.00")),
    }
    relay_pending()
    return {
        "org_a": org_a,
        "org_b": org_b,
        "institution": institution,
        "other": other,
        "alloc": {k: str(v.pk) for k, v in allocations.items()},
    }


def _ids(response):
    assert response.status_code == 200, response.content
    return [item["resource"]["id"] for item in response.json()["results"]]


def test_anonymous_callers_get_401(anon):
    response = anon.get("/api/v1/events/")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")


def test_a_donor_reads_its_own_events_only(story, donor):
    a = story["alloc"]
    assert _ids(client_for(donor).get("/api/v1/events/")) == [a["mine_a"], a["mine_b"]]
    assert _ids(client_for(story["other"]).get("/api/v1/events/")) == [a["theirs_a"]]


def test_an_organization_reads_its_needs_allocations_as_the_organization(story):
    a = story["alloc"]
    member = MembershipFactory(organization=story["org_a"]).user
    items = client_for(member).get("/api/v1/events/").json()["results"]
    assert [i["resource"]["id"] for i in items] == [a["mine_a"], a["theirs_a"]]
    assert all(i["type"] == "allocation.proposed" for i in items)


def test_a_donor_institutions_key_reads_its_donor_events_with_the_scope(story):
    a = story["alloc"]
    _, key = ApiKeyFactory.create(organization=story["institution"], scopes=["events:read"])
    assert _ids(client_for(api_key=key).get("/api/v1/events/")) == [a["inst_b"]]


def test_an_api_key_without_events_read_is_refused(story):
    _, key = ApiKeyFactory.create(organization=story["org_a"], scopes=["needs:read"])
    response = client_for(api_key=key).get("/api/v1/events/")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/problem+json")


def test_an_organizations_key_reads_its_events(story):
    _, key = ApiKeyFactory.create(organization=story["org_b"], scopes=["events:read"])
    a = story["alloc"]
    assert _ids(client_for(api_key=key).get("/api/v1/events/")) == [a["mine_b"], a["inst_b"]]


def test_verifiers_read_everything_in_position_order(story, verifier_client):
    items = verifier_client.get("/api/v1/events/?page_size=200").json()["results"]
    positions = [i["position"] for i in items]
    assert positions == sorted(positions)
    assert set(story["alloc"].values()) <= {i["resource"]["id"] for i in items}


def test_filters_by_type_and_resource(story, donor, verifier_client):
    a = story["alloc"]
    client = client_for(donor)
    assert _ids(client.get("/api/v1/events/?type=allocation.proposed,pledge.created")) == [
        a["mine_a"],
        a["mine_b"],
    ]
    assert _ids(client.get("/api/v1/events/?type=pledge.reduced")) == []
    assert _ids(client.get("/api/v1/events/?resource_type=allocation")) == [
        a["mine_a"],
        a["mine_b"],
    ]
    assert _ids(client.get(f"/api/v1/events/?resource_id={a['mine_b']}")) == [a["mine_b"]]
    pledges = verifier_client.get("/api/v1/events/?resource_type=pledge").json()["results"]
    assert all(i["type"].startswith("pledge.") for i in pledges)


@pytest.mark.parametrize(
    "query",
    [
        "type=pledge.exploded",
        "type=allocation.proposed,nonsense",
        "resource_type=spaceship",
        "resource_id=" + "x" * 65,
        "page_size=0",
        "cursor=not-a-cursor",
    ],
)
def test_bad_filters_are_400_problems(story, donor, query):
    response = client_for(donor).get(f"/api/v1/events/?{query}")
    assert response.status_code in (400, 404), response.content
    assert response["Content-Type"].startswith("application/problem+json")
    if not query.startswith("cursor"):
        assert response.status_code == 400


def test_the_cursor_walks_every_event_once(donor):
    pledge = PledgeFactory(donor=donor, amount=Decimal("50000.00"))
    made = [str(propose(pledge, NeedFactory(), Decimal("10.00")).pk) for _ in range(7)]
    relay_pending()
    client, seen = client_for(donor), []
    url = "/api/v1/events/?type=allocation.proposed&page_size=3"
    while url:
        page = client.get(url).json()
        seen += [i["resource"]["id"] for i in page["results"]]
        url = page["next"]
    assert seen == made


def test_an_item_is_the_envelope_for_the_callers_audience(story, donor):
    (item, _) = client_for(donor).get("/api/v1/events/").json()["results"]
    assert item["id"].startswith("evt_") and item["type"] == EventType.ALLOCATION_PROPOSED
    assert item["resource"] == {"type": "allocation", "id": story["alloc"]["mine_a"]}
    assert item["data"]["id"] == story["alloc"]["mine_a"]
    assert item["data"]["donor"] == donor.full_name


def test_events_not_yet_positioned_are_not_in_the_feed(donor):
    from django.db import transaction

    from apps.events.models import Event

    with transaction.atomic():
        propose(PledgeFactory(donor=donor), NeedFactory(), Decimal("10.00"))
    assert Event.objects.filter(position__isnull=True).exists()
    assert _ids(client_for(donor).get("/api/v1/events/")) == []
    relay_pending()
    assert len(_ids(client_for(donor).get("/api/v1/events/"))) == 1


def test_the_schema_types_the_feed(anon):
    schema = anon.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/events/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"type", "resource_type", "resource_id"}
    item = schema["components"]["schemas"]["Event"]
    assert set(item["properties"]) == {"id", "type", "occurred_at", "position", "resource", "data"}


def test_reading_a_confidential_field_in_the_feed_is_audited(org_x, staff_x):
    from apps.audit.models import AuditEvent
    from apps.needs import services as needs

    need = NeedFactory(organization=org_x, status="draft", location_detail="House 14")
    needs.need_submit(need_id=need.pk)
    relay_pending()

    items = client_for(staff_x).get("/api/v1/events/").json()["results"]

    assert items[0]["data"]["location_detail"] == "House 14"
    read = AuditEvent.objects.get(action="confidential.read", object_id=str(need.pk))
    assert read.detail == {"fields": ["location_detail"]}
