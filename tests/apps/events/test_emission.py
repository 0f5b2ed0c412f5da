"""Every change a partner cares about writes its event in its own transaction, addressed to
whom may hear of it, through the real API or service call that makes the change."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from aidmatch.events import Audience, EventType
from apps.disbursements import services as tranches
from apps.events.models import Event
from apps.events.relay import relay_pending
from apps.matching.services import allocations
from apps.needs import services as needs
from apps.organizations.vetting import organization_vet
from apps.pledges import services as pledges
from apps.reports.services import report_file
from tests.apps.events.conftest import events_of, today, usd
from tests.conftest import client_for
from tests.factories import NeedFactory, OrganizationFactory, PledgeFactory, propose

pytestmark = pytest.mark.django_db

T = EventType
D, ORG, V = Audience.DONOR, Audience.ORGANIZATION, Audience.VERIFIER


def _committed(w, amount="400.00"):
    allocation = propose(w["pledge"], w["need"], Decimal(amount))
    return allocations.allocation_commit(allocation_id=allocation.pk, actor=w["donor"])


def _tranche(w, *, sent=True):
    allocation = _committed(w)
    tranche = tranches.disbursement_create(
        actor=w["donor"],
        allocation_ids=[allocation.pk],
        amount=Decimal("400.00"),
        currency=usd(),
        channel="hawala",
    )
    if sent:
        tranches.disbursement_mark_sent(disbursement_id=tranche.pk, actor=w["donor"])
    return tranche


def _received(w):
    tranche = _tranche(w)
    return tranches.disbursement_confirm_receipt(
        disbursement_id=tranche.pk,
        acting_for={w["org"].pk},
        actor=w["staff"],
        received_amount=Decimal("400.00"),
        received_currency=usd(),
    )


def need_submitted(w):
    need = NeedFactory(organization=w["org"], status="draft")
    client_for(w["staff"]).post(f"/api/v1/needs/{need.pk}/submit")
    return need.pk


def need_approved(w, verifier):
    need = NeedFactory(organization=w["org"], status="submitted")
    return needs.need_approve(need_id=need.pk, verifier=verifier).pk


def need_funded(w):
    return _committed(w, "1000.00").need_id


def need_cancelled(w):
    return needs.need_cancel(need_id=w["need"].pk).pk


def pledge_created(w):
    response = client_for(w["donor"]).post(
        "/api/v1/pledges/",
        {"amount": "250.00", "currency": "USD", "earmark_sectors": ["food_security"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def pledge_reduced(w):
    propose(w["pledge"], w["need"], Decimal("400.00"))
    return pledges.pledge_reduce(
        pledge_id=w["pledge"].pk, actor=w["donor"], amount=Decimal("100.00")
    ).pk


def pledge_withdrawn(w):
    return pledges.pledge_withdraw(pledge_id=w["pledge"].pk, actor=w["donor"]).pk


def pledge_expired(w):
    pledge = PledgeFactory(donor=w["donor"], expires_at=timezone.now() + timedelta(hours=1))
    assert pledges.pledge_expire_due(now=timezone.now() + timedelta(hours=2)) == 1
    return pledge.pk


def _schedule(w, **kwargs):
    from apps.pledges.schedules import schedule_create

    return schedule_create(
        donor=w["donor"],
        amount=Decimal("20.00"),
        currency=usd(),
        interval="monthly",
        day_of_month=28,
        start_date=today() + timedelta(days=2),
        **kwargs,
    )


def pledge_schedule_created(w):
    return _schedule(w).pk


def pledge_schedule_updated(w):
    from apps.pledges.schedules import schedule_update

    schedule = _schedule(w)
    return schedule_update(schedule_id=schedule.pk, actor=w["donor"], amount=Decimal("30")).pk


def pledge_schedule_paused(w):
    from apps.pledges.schedules import schedule_pause

    return schedule_pause(schedule_id=_schedule(w).pk, actor=w["donor"]).pk


def pledge_schedule_resumed(w):
    from apps.pledges.schedules import schedule_pause, schedule_resume

    schedule = schedule_pause(schedule_id=_schedule(w).pk, actor=w["donor"])
    return schedule_resume(schedule_id=schedule.pk, actor=w["donor"]).pk


def pledge_schedule_cancelled(w):
    from apps.pledges.schedules import schedule_cancel

    return schedule_cancel(schedule_id=_schedule(w).pk, actor=w["donor"]).pk


def pledge_schedule_stopped(w):
    from apps.pledges.schedules import schedule_make_due

    schedule = _schedule(w)
    w["donor"].is_active = False
    w["donor"].save(update_fields=["is_active"])
    schedule_make_due(schedule_id=schedule.pk, now=timezone.now() + timedelta(days=40))
    return schedule.pk


def pledge_schedule_completed(w):
    from apps.pledges.schedules import schedule_make_due

    schedule = _schedule(w, occurrences_limit=1)
    assert schedule_make_due(schedule_id=schedule.pk, now=timezone.now() + timedelta(days=40))
    return schedule.pk


def allocation_proposed(w):
    return propose(w["pledge"], w["need"], Decimal("300.00")).pk


def allocation_committed(w):
    return _committed(w).pk


def allocation_declined(w):
    allocation = propose(w["pledge"], w["need"], Decimal("300.00"))
    return allocations.allocation_decline(allocation_id=allocation.pk, actor=w["donor"]).pk


def allocation_released(w):
    allocation = propose(w["pledge"], w["need"], Decimal("300.00"))
    return allocations.allocation_release(allocation_id=allocation.pk, reason="window over").pk


def disbursement_scheduled(w):
    return _tranche(w, sent=False).pk


def disbursement_sent(w):
    return _tranche(w).pk


def disbursement_received(w):
    return _received(w).pk


def disbursement_failed(w):
    tranche = _tranche(w)
    return tranches.disbursement_mark_failed(
        disbursement_id=tranche.pk, actor=w["donor"], reason="the hawaladar closed"
    ).pk


def disbursement_returned(w):
    tranche = _tranche(w)
    return tranches.disbursement_mark_returned(
        disbursement_id=tranche.pk, actor=w["donor"], reason="wrong account"
    ).pk


def disbursement_refunded(w):
    tranche = _received(w)
    tranches.disbursement_refund(
        disbursement_id=tranche.pk,
        actor=w["staff"],
        acting_for={w["org"].pk},
        amount=Decimal("50.00"),
        currency=usd(),
        reason="unspent",
    )
    return tranche.pk


def report_submitted(w):
    _received(w)
    return report_file(
        need_id=w["need"].pk,
        created_by=w["staff"],
        period_start=today() - timedelta(days=7),
        period_end=today(),
        reached_women=10,
        narrative="Families in the western districts were reached.",
        amount_spent=Decimal("100.00"),
    ).pk


def organization_verified(w, verifier):
    org = OrganizationFactory(status="pending")
    return organization_vet(
        organization_id=org.pk, action="verify", verifier=verifier, reason="documents checked"
    ).pk


def organization_suspended(w, verifier):
    return organization_vet(
        organization_id=w["org"].pk, action="suspend", verifier=verifier, reason="review"
    ).pk


def organization_reinstated(w, verifier):
    organization_suspended(w, verifier)
    return organization_vet(
        organization_id=w["org"].pk, action="reinstate", verifier=verifier, reason="cleared"
    ).pk


# type → (how to make it happen, who receives it)
CASES = {
    T.NEED_SUBMITTED: (need_submitted, {ORG, V}),
    T.NEED_APPROVED: (need_approved, {ORG, V}),
    T.NEED_FUNDED: (need_funded, {ORG, V}),
    T.NEED_CANCELLED: (need_cancelled, {ORG, V}),
    T.PLEDGE_CREATED: (pledge_created, {D, V}),
    T.PLEDGE_REDUCED: (pledge_reduced, {D, V}),
    T.PLEDGE_WITHDRAWN: (pledge_withdrawn, {D, V}),
    T.PLEDGE_EXPIRED: (pledge_expired, {D, V}),
    T.PLEDGE_SCHEDULE_CREATED: (pledge_schedule_created, {D, V}),
    T.PLEDGE_SCHEDULE_UPDATED: (pledge_schedule_updated, {D, V}),
    T.PLEDGE_SCHEDULE_PAUSED: (pledge_schedule_paused, {D, V}),
    T.PLEDGE_SCHEDULE_RESUMED: (pledge_schedule_resumed, {D, V}),
    T.PLEDGE_SCHEDULE_CANCELLED: (pledge_schedule_cancelled, {D, V}),
    T.PLEDGE_SCHEDULE_STOPPED: (pledge_schedule_stopped, {D, V}),
    T.PLEDGE_SCHEDULE_COMPLETED: (pledge_schedule_completed, {D, V}),
    T.ALLOCATION_PROPOSED: (allocation_proposed, {D, ORG, V}),
    T.ALLOCATION_COMMITTED: (allocation_committed, {D, ORG, V}),
    T.ALLOCATION_DECLINED: (allocation_declined, {D, ORG, V}),
    T.ALLOCATION_RELEASED: (allocation_released, {D, ORG, V}),
    T.DISBURSEMENT_SCHEDULED: (disbursement_scheduled, {D, ORG, V}),
    T.DISBURSEMENT_SENT: (disbursement_sent, {D, ORG, V}),
    T.DISBURSEMENT_RECEIVED: (disbursement_received, {D, ORG, V}),
    T.DISBURSEMENT_FAILED: (disbursement_failed, {D, ORG, V}),
    T.DISBURSEMENT_RETURNED: (disbursement_returned, {D, ORG, V}),
    T.DISBURSEMENT_REFUNDED: (disbursement_refunded, {D, ORG, V}),
    T.REPORT_SUBMITTED: (report_submitted, {D, ORG, V}),
    T.ORGANIZATION_VERIFIED: (organization_verified, {ORG, V}),
    T.ORGANIZATION_SUSPENDED: (organization_suspended, {ORG, V}),
    T.ORGANIZATION_REINSTATED: (organization_reinstated, {ORG, V}),
}


def test_every_listed_type_has_a_case():
    assert set(CASES) == set(EventType) - {EventType.WEBHOOK_TEST}


@pytest.mark.parametrize("event_type", list(CASES), ids=str)
def test_the_change_writes_its_event_for_its_audiences(event_type, world, verifier):
    make, audiences = CASES[event_type]
    if "verifier" in make.__code__.co_varnames[: make.__code__.co_argcount]:
        resource_id = make(world, verifier)
    else:
        resource_id = make(world)

    relay_pending()  # the test's transaction never commits: relay inside it
    written = events_of(event_type, resource_id)
    assert written, f"no {event_type} for {resource_id}"
    assert {a for e in written for a in e.audiences.split(",")} == {str(a) for a in audiences}
    for event in written:
        assert event.position is not None
        assert set(event.payloads) == set(event.audiences.split(","))
        for data in event.payloads.values():
            assert str(data["id"]) == str(resource_id)
        if str(ORG) in event.payloads:
            assert event.organization_id is not None
        if str(D) in event.payloads:
            assert event.donor_id == world["donor"].pk or event.donor_organization_id
    if event_type.startswith(("pledge.", "allocation.", "disbursement.")):
        assert any(e.donor_id == world["donor"].pk for e in written)


def test_a_change_rolled_back_leaves_no_event(world):
    with pytest.raises(RuntimeError), transaction.atomic():
        pledges.pledge_withdraw(pledge_id=world["pledge"].pk, actor=world["donor"])
        raise RuntimeError("the request failed after the change")
    assert not Event.objects.filter(resource_id=str(world["pledge"].pk)).exists()


def test_a_refused_change_writes_no_event(world):
    client = client_for(world["donor"])
    response = client.patch(
        f"/api/v1/pledges/{world['pledge'].pk}/", {"amount": "9999999.00"}, format="json"
    )
    assert response.status_code == 422
    assert not Event.objects.filter(resource_id=str(world["pledge"].pk)).exists()


def test_a_pledge_event_shows_the_pledge_as_the_api_does(world):
    client = client_for(world["donor"])
    pledge_id = pledge_created(world)
    shown = client.get(f"/api/v1/pledges/{pledge_id}/").json()
    (event,) = events_of(T.PLEDGE_CREATED, pledge_id)
    # The creator's audience gets its own ids and notes, as the API shows them to it (so a
    # partner maps the event to its own record); no other audience ever does.
    from apps.core.partner import FIELDS

    assert event.payloads["donor"] == shown
    assert not set(FIELDS) & set(event.payloads["verifier"])


def test_releasing_proposals_with_a_pledge_change_is_one_insert(world):
    other = NeedFactory(organization=world["org"], amount=Decimal("1000.00"))
    first = propose(world["pledge"], world["need"], Decimal("300.00"))
    second = propose(world["pledge"], other, Decimal("300.00"))
    pledges.pledge_withdraw(pledge_id=world["pledge"].pk, actor=world["donor"])
    released = {e.resource_id for e in events_of(T.ALLOCATION_RELEASED)}
    assert released == {str(first.pk), str(second.pk)}
    withdrawn = events_of(T.PLEDGE_WITHDRAWN, world["pledge"].pk)
    assert len(withdrawn) == 1
    # The releases come before the pledge's own event, in one statement (consecutive ids).
    ids = [e.id for e in events_of() if e.type in (T.ALLOCATION_RELEASED, T.PLEDGE_WITHDRAWN)]
    assert ids == list(range(ids[0], ids[0] + 3)) and withdrawn[0].id == ids[-1]


def test_a_report_reaches_each_donor_that_funded_the_need_once(world, verifier):
    from tests.factories import UserFactory

    other_donor = UserFactory(full_name="Omar Other")
    second = PledgeFactory(donor=other_donor, amount=Decimal("500.00"))
    allocations.allocation_commit(
        allocation_id=propose(second, world["need"], Decimal("200.00")).pk
    )
    report_id = report_submitted(world)
    written = events_of(T.REPORT_SUBMITTED, report_id)
    donors = sorted(e.donor_id for e in written if e.donor_id)
    assert donors == sorted([world["donor"].pk, other_donor.pk])
    (insider,) = [e for e in written if e.organization_id]
    assert set(insider.payloads) == {"organization", "verifier"}
    assert "evidence" in insider.payloads["organization"]
    assert all("evidence" not in e.payloads["donor"] for e in written if e.donor_id)


@pytest.mark.parametrize("change", ["submit", "cancel", "commit"])
def test_writing_an_event_reads_nothing_more(change, world):
    """What an event shows comes with the row locks: its only statement is its INSERT."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if change == "submit":
        need = NeedFactory(organization=world["org"], status="draft")
        run = lambda: needs.need_submit(need_id=need.pk)  # noqa: E731
    elif change == "cancel":
        run = lambda: needs.need_cancel(need_id=world["need"].pk)  # noqa: E731
    else:
        allocation = propose(world["pledge"], world["need"], Decimal("1000.00"))  # funds it

        def run():
            return allocations.allocation_commit(allocation_id=allocation.pk, actor=world["donor"])

    with CaptureQueriesContext(connection) as queries:
        run()
    reads = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT")
        and "FOR UPDATE" not in q["sql"]
        and "FOR NO KEY UPDATE" not in q["sql"]
        and ("needs_needlineitem" in q["sql"] or "organizations_organization" in q["sql"])
    ]
    assert reads == []
    assert (
        sum(q["sql"].startswith('INSERT INTO "events_event"') for q in queries.captured_queries)
        == 1
    )
