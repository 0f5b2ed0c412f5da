"""Recurring pledges make one pledge per period, through the periodic Celery task: twice
delivered, a beat that was down, Asia/Kabul's midnight, pause and resume, amount changes,
cancel with proposals pending, suspension of the donor, an earmark that closed."""

from datetime import date
from decimal import Decimal

import pytest
from django.core import mail

from aidmatch.access import MemberRole
from aidmatch.lifecycle import NeedStatus
from apps.events.models import Event
from apps.events.relay import relay_pending
from apps.matching.models import Allocation
from apps.organizations.vetting import organization_vet
from apps.pledges import schedules
from apps.pledges.models import Pledge, PledgeSchedule
from apps.pledges.tasks import make_due_scheduled_pledges
from apps.reference.models import Currency
from tests.conftest import client_for
from tests.factories import MembershipFactory, NeedFactory, OrganizationFactory, propose

pytestmark = pytest.mark.django_db


def usd():
    return Currency.objects.get(code="USD")


def new_schedule(donor=None, **kwargs) -> PledgeSchedule:
    fields = {
        "donor": donor,
        "amount": Decimal("50.00"),
        "currency": usd(),
        "interval": "monthly",
        "day_of_month": 1,
        "start_date": date(2026, 1, 1),
        "earmark_sectors": ["education"],
        "earmark_provinces": ["AF01"],
    }
    return schedules.schedule_create(**(fields | kwargs))


def made(schedule):
    return list(
        Pledge.objects.filter(schedule=schedule)
        .order_by("schedule_period")
        .values_list("schedule_period", "amount")
    )


def types_of(schedule):
    return list(
        Event.objects.filter(resource_id=str(schedule.pk))
        .order_by("id")
        .values_list("type", flat=True)
    )


def test_the_task_delivered_twice_makes_each_pledge_once(clock, donor):
    clock("2025-12-31T12:00:00+00:00")
    schedule = new_schedule(donor)
    clock("2026-01-01T00:00:00+00:00")  # 04:30 in Kabul: the 1 January occurrence is due

    assert make_due_scheduled_pledges.delay().get() == 1
    assert make_due_scheduled_pledges.delay().get() == 0

    pledge = Pledge.objects.get(schedule=schedule)
    assert (pledge.schedule_period, pledge.amount, pledge.donor) == (
        date(2026, 1, 1),
        Decimal("50.00"),
        donor,
    )
    # made as any pledge: its earmarks, ledger posting and event
    assert sorted(pledge.earmark_sectors.values_list("code", flat=True)) == ["education"]
    assert Event.objects.filter(type="pledge.created", resource_id=str(pledge.pk)).count() == 1
    schedule.refresh_from_db()
    assert schedule.occurrences_made == 1
    assert schedule.next_due_at.isoformat() == "2026-01-31T19:30:00+00:00"


def test_an_occurrence_falls_due_at_midnight_kabul_time(clock, donor):
    clock("2026-02-20T00:00:00+00:00")
    schedule = new_schedule(donor, start_date=date(2026, 3, 1))
    clock("2026-02-28T19:29:59+00:00")
    assert make_due_scheduled_pledges.delay().get() == 0
    clock("2026-02-28T19:30:00+00:00")  # 1 March 00:00 in Kabul
    assert make_due_scheduled_pledges.delay().get() == 1
    assert made(schedule) == [(date(2026, 3, 1), Decimal("50.00"))]


def test_month_ends_are_clamped(clock, donor):
    clock("2026-01-01T00:00:00+00:00")
    schedule = new_schedule(
        donor, day_of_month=31, start_date=date(2028, 1, 1), occurrences_limit=3
    )
    assert schedule.next_due_at.isoformat() == "2028-01-30T19:30:00+00:00"
    clock("2028-02-28T19:30:00+00:00")  # 29 February (a leap year), Kabul
    assert make_due_scheduled_pledges.delay().get() == 2
    assert [p for p, _ in made(schedule)] == [date(2028, 1, 1), date(2028, 2, 1)]
    clock("2028-03-31T00:00:00+00:00")
    assert make_due_scheduled_pledges.delay().get() == 1
    schedule.refresh_from_db()
    assert schedule.status == "completed" and schedule.next_due_at is None
    assert types_of(schedule)[-1] == "pledge_schedule.completed"


def test_a_beat_down_for_a_week_catches_the_missed_occurrence_up(clock, donor):
    clock("2026-01-01T00:00:00+00:00")
    schedule = new_schedule(donor, day_of_month=3, start_date=date(2026, 1, 2))
    clock("2026-01-09T00:00:00+00:00")  # the beat stopped on 1 January, back on the 9th
    assert make_due_scheduled_pledges.delay().get() == 1
    assert made(schedule) == [(date(2026, 1, 1), Decimal("50.00"))]


def test_a_beat_down_for_three_months_catches_each_period_up_once(clock, donor):
    clock("2026-01-01T00:00:00+00:00")
    schedule = new_schedule(donor, day_of_month=15)
    clock("2026-01-15T00:00:00+00:00")
    assert make_due_scheduled_pledges.delay().get() == 1
    clock("2026-04-20T00:00:00+00:00")  # down from 16 January to 20 April
    assert make_due_scheduled_pledges.delay().get() == 3
    assert make_due_scheduled_pledges.delay().get() == 0
    assert [p for p, _ in made(schedule)] == [date(2026, m, 1) for m in (1, 2, 3, 4)]


def test_pause_skips_the_periods_due_meanwhile_and_resume_goes_on(clock, donor):
    clock("2026-01-01T00:00:00+00:00")
    schedule = new_schedule(donor)
    assert make_due_scheduled_pledges.delay().get() == 1
    clock("2026-01-10T00:00:00+00:00")
    schedules.schedule_pause(schedule_id=schedule.pk, actor=donor)
    clock("2026-03-05T00:00:00+00:00")
    assert make_due_scheduled_pledges.delay().get() == 0
    schedules.schedule_resume(schedule_id=schedule.pk, actor=donor)
    assert make_due_scheduled_pledges.delay().get() == 0  # February and March were paused
    clock("2026-04-01T00:00:00+00:00")
    assert make_due_scheduled_pledges.delay().get() == 1
    assert [p for p, _ in made(schedule)] == [date(2026, 1, 1), date(2026, 4, 1)]
    assert types_of(schedule) == [
        "pledge_schedule.created",
        "pledge_schedule.paused",
        "pledge_schedule.resumed",
    ]


def test_an_amount_change_applies_from_the_next_occurrence(clock, donor):
    clock("2026-01-01T00:00:00+00:00")
    schedule = new_schedule(donor)
    assert make_due_scheduled_pledges.delay().get() == 1
    clock("2026-02-10T00:00:00+00:00")  # the beat missed 1 February; the donor gives more
    schedules.schedule_update(schedule_id=schedule.pk, actor=donor, amount=Decimal("80.00"))
    schedule.refresh_from_db()
    assert (schedule.amount, schedule.amount_from, schedule.earlier_amount) == (
        Decimal("80.00"),
        date(2026, 3, 1),
        Decimal("50.00"),
    )
    clock("2026-03-01T00:00:00+00:00")
    assert make_due_scheduled_pledges.delay().get() == 2
    assert made(schedule) == [
        (date(2026, 1, 1), Decimal("50.00")),
        (date(2026, 2, 1), Decimal("50.00")),  # due before the change: the old amount
        (date(2026, 3, 1), Decimal("80.00")),
    ]


def test_cancel_stops_future_occurrences_and_leaves_pending_proposals_to_the_pledge_api(
    clock, donor
):
    clock("2026-01-01T00:00:00+00:00")
    schedule = new_schedule(donor, earmark_sectors=[], earmark_provinces=[])
    make_due_scheduled_pledges.delay().get()
    pledge = Pledge.objects.get(schedule=schedule)
    proposal = propose(pledge, NeedFactory(amount=Decimal("1000.00")), Decimal("30.00"))
    client = client_for(donor)

    response = client.post(f"/api/v1/pledge-schedules/{schedule.pk}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    proposal.refresh_from_db()
    assert proposal.status == "proposed"  # the pledge made stays live
    clock("2026-03-01T00:00:00+00:00")
    assert make_due_scheduled_pledges.delay().get() == 0

    client = client_for(donor)  # a token of the new day
    response = client.post(f"/api/v1/pledges/{pledge.pk}/withdraw")
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    proposal.refresh_from_db()
    assert proposal.status == "released"
    assert client.post(f"/api/v1/pledge-schedules/{schedule.pk}/resume").status_code == 409


def test_a_suspended_donor_institution_stops_its_schedule_and_is_told(
    clock, verifier, django_capture_on_commit_callbacks
):
    clock("2026-01-01T00:00:00+00:00")
    institution = OrganizationFactory(kind="donor_institution")
    admin = MembershipFactory(organization=institution, role=MemberRole.ADMIN).user
    schedule = new_schedule(donor_organization=institution)

    organization_vet(
        organization_id=institution.pk, action="suspend", verifier=verifier, reason="review"
    )
    with django_capture_on_commit_callbacks(execute=True):
        relay_pending()

    schedule.refresh_from_db()
    assert schedule.status == "stopped"
    assert schedule.stop_reason == "the donor organization was suspended"
    assert types_of(schedule)[-1] == "pledge_schedule.stopped"
    assert make_due_scheduled_pledges.delay().get() == 0
    (message,) = [m for m in mail.outbox if "recurring pledge stopped" in m.subject]
    assert message.to == [admin.email] and "suspended" in message.body
    with django_capture_on_commit_callbacks(execute=True):
        relay_pending()
    assert len([m for m in mail.outbox if "recurring pledge stopped" in m.subject]) == 1


def test_a_deactivated_donor_is_stopped_by_the_task_and_told(
    clock, donor, django_capture_on_commit_callbacks
):
    clock("2025-12-31T00:00:00+00:00")
    schedule = new_schedule(donor)
    donor.is_active = False
    donor.save(update_fields=["is_active"])
    clock("2026-01-02T00:00:00+00:00")

    assert make_due_scheduled_pledges.delay().get() == 0
    with django_capture_on_commit_callbacks(execute=True):
        relay_pending()

    schedule.refresh_from_db()
    assert (schedule.status, schedule.stop_reason) == (
        "stopped",
        "the donor's account was deactivated",
    )
    assert not Pledge.objects.filter(schedule=schedule).exists()
    (message,) = mail.outbox
    assert message.to == [donor.email]


def test_an_earmarked_need_no_longer_open_stops_the_schedule(clock, donor):
    clock("2026-01-01T00:00:00+00:00")
    need = NeedFactory(amount=Decimal("1000.00"))
    schedule = new_schedule(donor, earmark_need=need, earmark_sectors=[], earmark_provinces=[])
    assert make_due_scheduled_pledges.delay().get() == 1
    need.status = NeedStatus.FUNDED
    need.save(update_fields=["status"])
    clock("2026-02-01T00:00:00+00:00")

    assert make_due_scheduled_pledges.delay().get() == 0
    schedule.refresh_from_db()
    assert schedule.status == "stopped"
    assert "earmark can no longer receive money" in schedule.stop_reason
    assert len(made(schedule)) == 1


def test_one_bad_schedule_does_not_block_the_others(clock, donor):
    clock("2026-01-01T00:00:00+00:00")
    good = new_schedule(donor)
    bad = new_schedule(donor)
    # a row the rules refuse (an unknown zone), written past the API
    PledgeSchedule.objects.filter(pk=bad.pk).update(time_zone="Mars/Olympus")

    assert make_due_scheduled_pledges.delay().get() == 1
    assert len(made(good)) == 1 and not made(bad)


def test_the_database_refuses_bad_schedules(donor):
    from django.db import IntegrityError, transaction

    schedule = new_schedule(donor, start_date=date(2030, 1, 1))
    for change in (
        {"amount": Decimal("0")},
        {"day_of_month": 32},
        {"status": "sleeping"},
        {"end_date": date(2031, 1, 1), "occurrences_limit": 3},
        {"end_date": date(2029, 1, 1)},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            PledgeSchedule.objects.filter(pk=schedule.pk).update(**change)
    # one pledge per schedule and period
    with pytest.raises(IntegrityError), transaction.atomic():
        for _ in range(2):
            Pledge.objects.create(
                donor=donor,
                amount=Decimal("1.00"),
                original_amount=Decimal("1.00"),
                currency=usd(),
                schedule=schedule,
                schedule_period=date(2030, 1, 1),
            )


def test_pledges_made_are_listed_by_schedule(clock, donor):
    clock("2026-01-01T00:00:00+00:00")
    schedule = new_schedule(donor)
    other = new_schedule(donor)
    make_due_scheduled_pledges.delay().get()
    response = client_for(donor).get(f"/api/v1/pledges/?schedule={schedule.pk}")
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert (row["schedule"], row["schedule_period"]) == (str(schedule.pk), "2026-01-01")
    assert other.pk != schedule.pk
    assert Allocation.objects.count() == 0
