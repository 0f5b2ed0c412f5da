"""Writes for recurring pledges: create, pause, resume, change (amount from the next
occurrence, end), cancel, stop; and making the occurrences that are due.

Each write is one transaction under the schedule's row lock, audited, with its
``pledge_schedule.*`` event in the outbox. Each occurrence is a pledge made by ``pledge_create``
(the same checks, ledger posting, event and matching trigger as any pledge), linked back by
``Pledge.schedule`` and ``schedule_period``, unique per (schedule, period): made once, whoever
runs the task and how often. The rules of dates and catch-up are ``aidmatch.schedules``.

- Cancel: no more occurrences; pledges already made stay live (their donor withdraws them
  through the pledge API, which releases their proposals as for any pledge).
- Stop (by itself): when the donor user is deactivated or the donor institution suspended
  (``organization_transition`` calls ``schedules_stop_for_donor_organization``; the task re-checks
  before each occurrence), or when an occurrence's earmarked organization or need can no longer
  receive money. The donor is emailed (``apps.notices``, on ``pledge_schedule.stopped``).
  Stopped and cancelled are final: the donor makes a new schedule to give again.
"""

import logging
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as _

from aidmatch.errors import RuleViolation, StateConflict
from aidmatch.events import EventType
from aidmatch.schedules import (
    SCHEDULE_LIVE,
    Occurrence,
    ScheduleStatus,
    Spec,
    amount_for,
    check_schedule_transition,
    local_today,
    next_occurrence_after,
    plan,
)
from apps.audit.services import audit_record, audit_snapshot
from apps.events import payloads as events
from apps.events.services import record_event
from apps.organizations.models import Organization
from apps.organizations.vetting import FROZEN
from apps.pledges.models import PledgeSchedule
from apps.pledges.services import (
    _check_earmarks,
    _require_donor,
    pledge_create,
    write_earmarks,
)

logger = logging.getLogger(__name__)
S = ScheduleStatus
AUDITED = ["status", "amount", "amount_from", "earlier_amount", "end_date", "occurrences_limit"]


def spec_of(schedule: PledgeSchedule) -> Spec:
    return Spec(
        interval=schedule.interval,
        day_of_month=schedule.day_of_month,
        start=schedule.start_date,
        end=schedule.end_date,
        limit=schedule.occurrences_limit,
        time_zone=schedule.time_zone,
    )


def pauses_of(schedule: PledgeSchedule) -> list[tuple[datetime, datetime | None]]:
    return [
        (datetime.fromisoformat(start), datetime.fromisoformat(end) if end else None)
        for start, end in schedule.pauses
    ]


def made_periods(schedule: PledgeSchedule) -> set[date]:
    return set(schedule.pledges.values_list("schedule_period", flat=True))


def occurrence_amount(schedule: PledgeSchedule, occurrence: Occurrence) -> Decimal:
    return amount_for(
        occurrence,
        amount=schedule.amount,
        amount_from=schedule.amount_from,
        earlier_amount=schedule.earlier_amount,
    )


def _lock(schedule_id) -> PledgeSchedule:
    return (
        PledgeSchedule.objects.select_for_update(no_key=True, of=("self",))
        .select_related("currency", "donor", "donor_organization")
        .get(pk=schedule_id)
    )


def _event(event_type: EventType, schedule: PledgeSchedule) -> None:
    events.record(events.pledge_schedule_event(event_type, schedule))


def _replan(schedule: PledgeSchedule, now: datetime) -> None:
    """Set when the schedule is next due (now, if an occurrence waits); complete it when none
    is left."""
    if schedule.status != S.ACTIVE:
        schedule.next_due_at = None
        return
    found = plan(
        spec_of(schedule), now=now, made=made_periods(schedule), pauses=pauses_of(schedule)
    )
    if found.make:
        schedule.next_due_at = now
    elif found.complete:
        _end(schedule, S.COMPLETED, "", now)
    else:
        schedule.next_due_at = found.next_due


def _end(schedule: PledgeSchedule, final: ScheduleStatus, reason: str, now: datetime) -> None:
    check_schedule_transition(schedule.status, final)
    schedule.status = final
    schedule.stop_reason = reason[:300]
    schedule.next_due_at = None
    schedule.ended_at = now
    if schedule.pauses and schedule.pauses[-1][1] is None:
        schedule.pauses[-1][1] = now.isoformat()


def _write(schedule: PledgeSchedule, event_type: EventType, action: str, before, **detail):
    schedule.save()
    if schedule.status == S.COMPLETED and event_type != EventType.PLEDGE_SCHEDULE_COMPLETED:
        _event(event_type, schedule)
        event_type = EventType.PLEDGE_SCHEDULE_COMPLETED
    _event(event_type, schedule)
    audit_record(
        action=action,
        obj=schedule,
        before=before,
        after=audit_snapshot(schedule, fields=AUDITED),
        detail=detail or None,
    )


def schedule_create(
    *,
    donor=None,
    donor_organization=None,
    api_key=None,
    amount: Decimal,
    currency,
    interval: str,
    day_of_month: int,
    start_date: date,
    end_date: date | None = None,
    occurrences_limit: int | None = None,
    time_zone: str = "Asia/Kabul",
    earmark_sectors=(),
    earmark_provinces=(),
    earmark_organization=None,
    earmark_need=None,
    commit_window: timedelta | None = None,
    auto_commit: bool = False,
    public_message: str = "",
    anonymous: bool = False,
    now: datetime | None = None,
) -> PledgeSchedule:
    """A new recurring pledge. Its earmarks are checked as a pledge's are (422); it starts
    today or later in its time zone (a start in the past would make past months' pledges)."""
    now = now or timezone.now()
    if donor is None and donor_organization is None:
        raise RuleViolation(_("A recurring pledge needs a donor."))
    _check_earmarks(organization=earmark_organization, need=earmark_need)
    schedule = PledgeSchedule(
        donor=donor,
        donor_organization=donor_organization,
        created_by_key=api_key,
        amount=amount,
        currency=currency,
        earmark_organization=earmark_organization,
        earmark_need=earmark_need,
        interval=interval,
        day_of_month=day_of_month,
        start_date=start_date,
        end_date=end_date,
        occurrences_limit=occurrences_limit,
        time_zone=time_zone,
        commit_window=commit_window or PledgeSchedule._meta.get_field("commit_window").default,
        auto_commit=auto_commit,
        public_message=public_message,
        anonymous=anonymous,
    )
    spec = spec_of(schedule)
    if start_date < local_today(spec, now):
        raise RuleViolation(
            _("A recurring pledge starts today or later."),
            errors={"start_date": [_("Must be %(today)s or later (%(time_zone)s).")]},
            params={"today": local_today(spec, now), "time_zone": time_zone},
        )
    found = plan(spec, now=now)
    if not found.make and found.next_due is None:
        raise RuleViolation(
            _("This schedule has no occurrence."),
            errors={"end_date": [_("No occurrence falls between the start and the end.")]},
        )
    schedule.next_due_at = now if found.make else found.next_due
    with transaction.atomic():
        schedule.save(force_insert=True)
        earmarks, earmark_detail = write_earmarks(schedule, earmark_sectors, earmark_provinces)
        record_event(
            EventType.PLEDGE_SCHEDULE_CREATED,
            **events.pledge_schedule_routing(schedule),
            with_statements=earmarks,
        )
        audit_record(
            action="pledge_schedule.create",
            obj=schedule,
            after=audit_snapshot(schedule),
            detail=earmark_detail,
        )
    return schedule


@transaction.atomic
def schedule_pause(*, schedule_id, actor, now: datetime | None = None) -> PledgeSchedule:
    """No occurrence is made while paused; those that fall due meanwhile are skipped."""
    now = now or timezone.now()
    schedule = _lock(schedule_id)
    _require_donor(schedule, actor)
    if schedule.status == S.PAUSED:
        return schedule  # a repeat changes nothing
    check_schedule_transition(schedule.status, S.PAUSED)
    before = audit_snapshot(schedule, fields=AUDITED)
    schedule.status = S.PAUSED
    schedule.pauses = [*schedule.pauses, [now.isoformat(), None]]
    schedule.next_due_at = None
    _write(schedule, EventType.PLEDGE_SCHEDULE_PAUSED, "pledge_schedule.pause", before)
    return schedule


@transaction.atomic
def schedule_resume(*, schedule_id, actor, now: datetime | None = None) -> PledgeSchedule:
    """Occurrences from now on are made again (none of those skipped while paused)."""
    now = now or timezone.now()
    schedule = _lock(schedule_id)
    _require_donor(schedule, actor)
    if schedule.status == S.ACTIVE:
        return schedule
    check_schedule_transition(schedule.status, S.ACTIVE)
    before = audit_snapshot(schedule, fields=AUDITED)
    schedule.status = S.ACTIVE
    pauses = [list(p) for p in schedule.pauses]
    if pauses and pauses[-1][1] is None:
        pauses[-1][1] = now.isoformat()
    schedule.pauses = pauses
    _replan(schedule, now)
    _write(schedule, EventType.PLEDGE_SCHEDULE_RESUMED, "pledge_schedule.resume", before)
    return schedule


@transaction.atomic
def schedule_update(
    *,
    schedule_id,
    actor,
    amount: Decimal | None = None,
    end_date: date | None = None,
    now: datetime | None = None,
) -> PledgeSchedule:
    """Change the amount from the next occurrence on (the ones already due, even if not made
    yet, keep the amount they had), and/or set a new end date (today or later)."""
    now = now or timezone.now()
    schedule = _lock(schedule_id)
    _require_donor(schedule, actor)
    if schedule.status not in SCHEDULE_LIVE:
        raise StateConflict(
            _("A %(status)s recurring pledge cannot be changed."),
            params={"status": schedule.status},
        )
    before = audit_snapshot(schedule, fields=AUDITED)
    if end_date is not None:
        today = local_today(spec_of(schedule), now)
        if end_date < max(today, schedule.start_date):
            raise RuleViolation(
                _("A recurring pledge cannot end in the past."),
                errors={"end_date": [_("Must be %(earliest)s or later.")]},
                params={"earliest": max(today, schedule.start_date)},
            )
        schedule.end_date, schedule.occurrences_limit = end_date, None
    if amount is not None:
        upcoming = next_occurrence_after(spec_of(schedule), now)
        if upcoming is None:
            raise StateConflict(
                _("No occurrence is left to change."), errors={"amount": [_("No next occurrence.")]}
            )
        # What the occurrences before the next one are given: the amount the last of them
        # would have had.
        earlier = occurrence_amount(schedule, Occurrence(upcoming.on - timedelta(days=1), 0, 0))
        schedule.amount = amount
        schedule.amount_from = upcoming.on
        schedule.earlier_amount = earlier if earlier != amount else None
    _replan(schedule, now)
    _write(schedule, EventType.PLEDGE_SCHEDULE_UPDATED, "pledge_schedule.update", before)
    return schedule


@transaction.atomic
def schedule_cancel(*, schedule_id, actor, now: datetime | None = None) -> PledgeSchedule:
    """No more occurrences. Pledges already made stay live: withdraw them through the pledge
    API (which releases their proposals)."""
    now = now or timezone.now()
    schedule = _lock(schedule_id)
    _require_donor(schedule, actor)
    if schedule.status == S.CANCELLED:
        return schedule
    before = audit_snapshot(schedule, fields=AUDITED)
    _end(schedule, S.CANCELLED, "cancelled by the donor", now)
    _write(schedule, EventType.PLEDGE_SCHEDULE_CANCELLED, "pledge_schedule.cancel", before)
    return schedule


def _stop(schedule: PledgeSchedule, reason: str, now: datetime) -> None:
    """Stop a locked live schedule by itself (its donor is told by email)."""
    before = audit_snapshot(schedule, fields=AUDITED)
    _end(schedule, S.STOPPED, reason, now)
    _write(
        schedule, EventType.PLEDGE_SCHEDULE_STOPPED, "pledge_schedule.stop", before, reason=reason
    )


def schedules_stop_for_donor_organization(*, organization_id, reason: str) -> int:
    """Stop the live schedules of a donor institution (it was suspended); call inside the
    suspension's transaction, before it locks the organization's row (the order the task takes:
    a schedule, then the organization its pledge refers to)."""
    now = timezone.now()
    ids = list(
        PledgeSchedule.objects.filter(
            donor_organization_id=organization_id, status__in=SCHEDULE_LIVE
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for schedule_id in ids:
        schedule = _lock(schedule_id)
        if schedule.status in SCHEDULE_LIVE:
            _stop(schedule, f"the donor organization was {reason}", now)
    return len(ids)


def _donor_blocked(schedule: PledgeSchedule) -> str | None:
    if schedule.donor_id is not None and not schedule.donor.is_active:
        return "the donor's account was deactivated"
    organization = schedule.donor_organization
    if organization is not None and organization.status in FROZEN:
        return f"the donor organization is {organization.status}"
    return None


def schedule_make_due(*, schedule_id, now: datetime | None = None) -> int:
    """Make the occurrences of one schedule that are due (catch-up included), each in its own
    transaction under the schedule's lock; how many pledges were made. Safe to run twice or
    side by side: the second finds the periods made."""
    now = now or timezone.now()
    made = 0
    while True:
        with transaction.atomic():
            schedule = _lock(schedule_id)
            if schedule.status != S.ACTIVE:
                return made
            blocked = _donor_blocked(schedule)
            if blocked:
                _stop(schedule, blocked, now)
                return made
            found = plan(
                spec_of(schedule), now=now, made=made_periods(schedule), pauses=pauses_of(schedule)
            )
            if not found.make:
                before = schedule.status
                _replan(schedule, now)
                if schedule.status != before:
                    _write(
                        schedule,
                        EventType.PLEDGE_SCHEDULE_COMPLETED,
                        "pledge_schedule.complete",
                        {},
                    )
                else:
                    schedule.save(update_fields=["next_due_at", "updated_at"])
                return made
            occurrence = found.make[0]
            if not _make(schedule, occurrence, now):
                return made
            made += 1
            schedule.occurrences_made += 1
            if len(found.make) == 1 and found.complete:
                before = audit_snapshot(schedule, fields=AUDITED)
                _end(schedule, S.COMPLETED, "", now)
                _write(
                    schedule,
                    EventType.PLEDGE_SCHEDULE_COMPLETED,
                    "pledge_schedule.complete",
                    before,
                )
                return made
            schedule.next_due_at = now if len(found.make) > 1 else found.next_due
            schedule.save(update_fields=["occurrences_made", "next_due_at", "updated_at"])


def _make(schedule: PledgeSchedule, occurrence: Occurrence, now: datetime) -> bool:
    """The occurrence's pledge, made as any pledge; False (and the schedule stopped) when its
    earmarked organization or need can no longer receive money."""
    earmark_organization = (
        Organization.objects.get(pk=schedule.earmark_organization_id)
        if schedule.earmark_organization_id
        else None
    )
    earmark_need = schedule.earmark_need
    try:
        with transaction.atomic():  # a savepoint: the unique period is the last guard
            pledge_create(
                donor=schedule.donor,
                donor_organization=schedule.donor_organization,
                amount=occurrence_amount(schedule, occurrence),
                currency=schedule.currency,
                earmark_sectors=list(schedule.earmark_sectors.values_list("pk", flat=True)),
                earmark_provinces=list(schedule.earmark_provinces.values_list("pk", flat=True)),
                earmark_organization=earmark_organization,
                earmark_need=earmark_need,
                commit_window=schedule.commit_window,
                auto_commit=schedule.auto_commit,
                public_message=schedule.public_message,
                anonymous=schedule.anonymous,
                schedule=schedule,
                schedule_period=occurrence.period,
            )
    except RuleViolation as exc:
        _stop(schedule, f"its earmark can no longer receive money: {exc.detail}", now)
        return False
    except IntegrityError:
        # Only a writer that did not take the schedule's lock could get here first.
        logger.warning("period %s of schedule %s was already made", occurrence.period, schedule.pk)
        return False
    return True


DUE_BATCH = 500


def schedules_make_due(*, now: datetime | None = None, batch: int = DUE_BATCH) -> int:
    """Every active schedule due by ``now``, ``batch`` ids at a time (by id, so a schedule
    that fails is left for the next run instead of being met again); one schedule's failure
    is logged and does not hold the others back. The number of pledges made."""
    now = now or timezone.now()
    total, after = 0, None
    while True:
        due = PledgeSchedule.objects.filter(status=S.ACTIVE, next_due_at__lte=now)
        if after is not None:
            due = due.filter(pk__gt=after)
        ids = list(due.order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return total
        for schedule_id in ids:
            try:
                total += schedule_make_due(schedule_id=schedule_id, now=now)
            except Exception:
                logger.exception("recurring pledge %s: occurrences not made", schedule_id)
        after = ids[-1]
