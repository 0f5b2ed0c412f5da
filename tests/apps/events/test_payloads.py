"""Each audience's payload is the resource as the API shows it to that audience: a donor never
sees a sensitive organization's real name, exact location or contacts, nor another donor."""

import json
from decimal import Decimal

import pytest

from aidmatch.events import EventType
from apps.events.models import Event
from apps.events.relay import relay_pending
from apps.matching.models import Allocation
from apps.matching.services.allocations import allocation_commit
from apps.matching.services.runs import match_run_execute
from apps.needs import services as needs
from tests.apps.events.conftest import events_of
from tests.conftest import client_for
from tests.factories import (
    MembershipFactory,
    NeedFactory,
    OrganizationFactory,
    PledgeFactory,
    UserFactory,
    propose,
)

pytestmark = pytest.mark.django_db

SECRET_NAME = "Women's Shelter of Kandahar"
SECRET_PLACE = "Behind the blue mosque, third lane, house 14"
SECRET_CONTACT = "director@shelter.example"


@pytest.fixture
def sensitive():
    org = OrganizationFactory(
        name=SECRET_NAME, sensitive=True, contact_email=SECRET_CONTACT, address=SECRET_PLACE
    )
    need = NeedFactory(organization=org, amount=Decimal("1000.00"), location_detail=SECRET_PLACE)
    return org, need


def _text(data) -> str:
    return json.dumps(data)


def _assert_nothing_secret(data):
    text = _text(data)
    assert SECRET_NAME not in text and SECRET_PLACE not in text and SECRET_CONTACT not in text


def test_a_donor_sees_a_sensitive_organization_by_its_pseudonym_only(sensitive, donor):
    org, need = sensitive
    pledge = PledgeFactory(donor=donor, amount=Decimal("500.00"))
    allocation = propose(pledge, need, Decimal("500.00"))
    allocation_commit(allocation_id=allocation.pk, actor=donor)

    for event in events_of(resource_id=allocation.pk):
        donor_view = event.payloads["donor"]
        assert donor_view["organization"] == org.pseudonym
        _assert_nothing_secret(donor_view)
        # The organization and verifiers see its real name through its own need, not here:
        # an allocation shows the public name to everyone, as the API does.
        assert event.payloads["organization"]["organization"] == org.pseudonym


def test_the_organization_and_verifiers_see_the_exact_location_of_its_need(sensitive):
    org, _ = sensitive
    need = NeedFactory(organization=org, status="draft", location_detail=SECRET_PLACE)
    needs.need_submit(need_id=need.pk)
    (event,) = events_of(EventType.NEED_SUBMITTED, need.pk)
    assert set(event.payloads) == {"organization", "verifier"}  # no donor payload at all
    assert event.payloads["organization"]["location_detail"] == SECRET_PLACE
    assert event.payloads["organization"]["organization_name"] == SECRET_NAME


def test_an_anonymous_pledge_hides_its_donor_from_the_organization(donor):
    need = NeedFactory(amount=Decimal("1000.00"))
    pledge = PledgeFactory(donor=donor, amount=Decimal("500.00"), anonymous=True)
    allocation = propose(pledge, need, Decimal("300.00"))
    (event,) = events_of(EventType.ALLOCATION_PROPOSED, allocation.pk)
    assert event.payloads["donor"]["donor"] == donor.full_name
    assert event.payloads["organization"]["donor"] == "anonymous donor"
    assert event.payloads["verifier"]["donor"] == "anonymous donor"


def test_another_donor_never_receives_a_pledges_events(donor):
    other = UserFactory(full_name="Omar Other")
    response = client_for(donor).post(
        "/api/v1/pledges/", {"amount": "100.00", "currency": "USD"}, format="json"
    )
    (event,) = events_of(EventType.PLEDGE_CREATED, response.json()["id"])
    assert event.donor_id == donor.pk and event.organization_id is None
    feed = client_for(other).get("/api/v1/events/").json()["results"]
    assert feed == []


def test_a_matching_run_writes_one_proposed_event_per_new_proposal(sensitive, donor):
    org, need = sensitive
    plain = NeedFactory(amount=Decimal("300.00"), urgency=5)
    PledgeFactory(donor=donor, amount=Decimal("700.00"))
    PledgeFactory(donor=UserFactory(full_name="Omar Other"), amount=Decimal("400.00"))

    run = match_run_execute(trigger="manual", mode="full")

    proposed = Allocation.objects.filter(match_run=run)
    assert run.created == proposed.count() > 1
    written = events_of(EventType.ALLOCATION_PROPOSED)
    assert {e.resource_id for e in written} == {
        str(pk) for pk in proposed.values_list("pk", flat=True)
    }
    for event in written:
        allocation = proposed.get(pk=event.resource_id)
        shown = client_for(allocation.pledge.donor).get(f"/api/v1/allocations/{allocation.pk}/")
        # The same object the API shows the donor, field by field.
        assert event.payloads["donor"] == shown.json()
        assert event.donor_id == allocation.pledge.donor_id
        assert event.organization_id == allocation.need.organization_id
        if allocation.need_id == need.pk:
            _assert_nothing_secret(event.payloads["donor"])
            assert event.payloads["donor"]["organization"] == org.pseudonym
    assert plain.pk in {a.need_id for a in proposed}


def test_an_organization_member_reads_its_allocations_events_in_the_feed(sensitive, donor):
    org, need = sensitive
    member = MembershipFactory(organization=org).user
    allocation = propose(PledgeFactory(donor=donor), need, Decimal("100.00"))
    from apps.events.relay import relay_pending

    relay_pending()
    items = client_for(member).get("/api/v1/events/").json()["results"]
    assert [i["resource"]["id"] for i in items] == [str(allocation.pk)]
    assert items[0]["data"]["donor"] == donor.full_name  # not anonymous: shown, as by the API


def test_a_run_that_lets_proposals_go_writes_their_release(donor):
    need = NeedFactory(amount=Decimal("500.00"), urgency=1)
    pledge = PledgeFactory(donor=donor, amount=Decimal("500.00"))
    first = match_run_execute(trigger="manual", mode="full")
    (proposal,) = Allocation.objects.filter(match_run=first)
    assert proposal.need_id == need.pk
    # A more urgent need appears: the run moves the money there and lets the first one go.
    urgent = NeedFactory(amount=Decimal("500.00"), urgency=5)

    match_run_execute(trigger="manual", mode="full")

    proposal.refresh_from_db()
    assert proposal.status == "released"
    (released,) = events_of(EventType.ALLOCATION_RELEASED, proposal.pk)
    shown = client_for(donor).get(f"/api/v1/allocations/{proposal.pk}/").json()
    assert released.payloads["donor"] == shown
    assert released.donor_id == donor.pk and released.organization_id == need.organization_id
    moved = Allocation.objects.get(need=urgent, pledge=pledge, status="proposed")
    assert events_of(EventType.ALLOCATION_PROPOSED, moved.pk)


@pytest.mark.parametrize("bounded", [False, True], ids=["kept", "dropped-every-row"])
def test_a_runs_payloads_are_each_audiences_api_view_byte_for_byte(
    sensitive, donor, verifier, bounded, monkeypatch
):
    """Every audience of every event of a run (named and anonymous pledges, a sensitive and a
    plain organization): its payload is what GET /allocations/{id} shows that audience, and
    the stored text is the one EventPayloadsField writes for those payloads (keys sorted);
    the same when what the renderer keeps for reuse is dropped at every row (its memory bound)."""
    from django.db import connection

    from apps.events import payloads

    if bounded:
        monkeypatch.setattr(payloads, "CACHE_LIMIT", 0)
        monkeypatch.setattr(payloads, "OBJECT_LIMIT", 0)

    from apps.core.fields import fernet
    from apps.events.models import EventPayloadsField

    shared = EventPayloadsField.shared

    org, _ = sensitive
    plain = NeedFactory(amount=Decimal("300.00"), urgency=5)
    hidden = UserFactory(full_name="Hidden Giver")
    PledgeFactory(donor=donor, amount=Decimal("700.00"))
    PledgeFactory(donor=hidden, amount=Decimal("400.00"), anonymous=True)
    PledgeFactory(donor=hidden, amount=Decimal("150.00"), anonymous=True)
    members = {
        org.pk: MembershipFactory(organization=org).user,
        plain.organization_id: MembershipFactory(organization=plain.organization).user,
    }

    # The run wrote its proposals' values in batches (one outbox row per BATCH_ROWS), no
    # payloads: the relay makes one event per proposal, renders and routes it.
    monkeypatch.setattr(payloads, "BATCH_ROWS", 2)
    run = match_run_execute(trigger="manual", mode="full")
    batches = list(Event.objects.filter(type=EventType.ALLOCATION_PROPOSED))
    assert [b.batch_size for b in batches] == [2] * (run.created // 2) + [1] * (run.created % 2)
    assert all(b.payloads is None and b.position is None for b in batches)
    assert relay_pending() == run.created
    assert not Event.objects.filter(position__isnull=True).exists()  # the batches are gone

    written = events_of(EventType.ALLOCATION_PROPOSED)
    assert len(written) == run.created > 2
    assert all(e.pending is None and e.position is not None for e in written)
    anonymous = 0
    for event in written:
        allocation = Allocation.objects.get(pk=event.resource_id)
        path = f"/api/v1/allocations/{allocation.pk}/"
        viewers = {
            "donor": allocation.pledge.donor,
            "organization": members[allocation.need.organization_id],
            "verifier": verifier,
        }
        for audience, user in viewers.items():
            assert event.payloads[audience] == client_for(user).get(path).json(), audience
        anonymous_pledge = allocation.pledge.anonymous
        if anonymous_pledge:
            anonymous += 1
            assert event.payloads["donor"]["donor"] == "Hidden Giver"
            assert event.payloads["organization"]["donor"] == "anonymous donor"
        with connection.cursor() as cursor:
            cursor.execute("SELECT payloads FROM events_event WHERE id = %s", [event.pk])
            token = cursor.fetchone()[0]
        text = fernet().decrypt(token.encode()).decode()
        # Each view stored once: an audience shown an earlier one's view by that one's name.
        assert text == json.dumps(shared(event.payloads), sort_keys=True)
        stored = json.loads(text)
        if anonymous_pledge:  # two views: the donor's, and the others' (anonymous donor)
            assert isinstance(stored["organization"], dict)
            assert stored["verifier"] == "organization"
        else:  # one view for all
            assert stored["organization"] == stored["verifier"] == "donor"
    assert anonymous


def test_payloads_are_stored_without_a_compression_attempt(db):
    """Fernet tokens do not compress: the column is STORAGE EXTERNAL (PostgreSQL)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstorage FROM pg_attribute "
            "WHERE attrelid = 'events_event'::regclass AND attname = 'payloads'"
        )
        assert cursor.fetchone()[0] == "e"


def test_the_creators_own_ids_reach_its_audience_only(donor):
    client = client_for(donor)
    made = client.post(
        "/api/v1/pledges/",
        {
            "amount": "100.00",
            "currency": "USD",
            "external_reference": "PL-2026-0001",
            "metadata": {"crm_id": "C-1042"},
        },
        format="json",
    )
    assert made.status_code == 201, made.content
    (event,) = events_of(EventType.PLEDGE_CREATED, made.json()["id"])
    assert event.payloads["donor"]["external_reference"] == "PL-2026-0001"
    assert event.payloads["donor"]["metadata"] == {"crm_id": "C-1042"}
    assert "PL-2026-0001" not in _text(event.payloads["verifier"])
    assert "C-1042" not in _text(event.payloads["verifier"])
