"""Recurring pledges: when a schedule's occurrences fall, and which are due (plain Python).

A schedule gives ``amount`` every month or every quarter on ``day_of_month`` (1-31, clamped to
the month's last day: the 31st is 30 June, 28 or 29 February), from ``start`` on, until ``end``
(inclusive) or for ``limit`` occurrences, whichever is given. The months are counted from the
start's month (quarterly: the start's month, then every third month); the first occurrence is the
first such date on or after ``start``.

An occurrence is *due* from 00:00 of its date in the schedule's time zone (default Asia/Kabul,
UTC+4:30: an occurrence dated 1 March is due at 19:30 UTC on 28 February).

Each occurrence belongs to one *period*: its month (monthly) or its three months (quarterly),
named by the period's first day. A pledge made for an occurrence is unique per (schedule,
period), which is what makes a task delivered twice create nothing twice.

Catch-up: a beat that was down creates each missed occurrence exactly once when it comes back,
each dated for its own period (the donor promised the money and a food program counts on it).
Occurrences due while the schedule was paused are skipped, not caught up (a pause means "not
these months"). Skipped and made occurrences both count toward ``limit``: the schedule covers
``limit`` periods from its start, as it covers the periods up to ``end``.
"""

import calendar
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from aidmatch.errors import InvalidTransition, RuleViolation
from aidmatch.i18n import gettext_noop as _

DEFAULT_TIME_ZONE = "Asia/Kabul"
MAX_OCCURRENCES = 600  # 50 years of months: a bound on every walk


class Interval(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


MONTHS = {Interval.MONTHLY: 1, Interval.QUARTERLY: 3}


class ScheduleStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CANCELLED = "cancelled"  # by the donor
    STOPPED = "stopped"  # by itself: the donor suspended, or an earmark no longer fundable
    COMPLETED = "completed"  # its last occurrence made (end or limit reached)


S = ScheduleStatus
SCHEDULE_LIVE = frozenset({S.ACTIVE, S.PAUSED})
SCHEDULE_TRANSITIONS: dict[str, frozenset[str]] = {
    S.ACTIVE: frozenset({S.PAUSED, S.CANCELLED, S.STOPPED, S.COMPLETED}),
    S.PAUSED: frozenset({S.ACTIVE, S.CANCELLED, S.STOPPED, S.COMPLETED}),
}


def check_schedule_transition(current: str, target: str) -> None:
    """A forbidden change of status raises InvalidTransition (the API's 409)."""
    if current != target and target not in SCHEDULE_TRANSITIONS.get(current, frozenset()):
        raise InvalidTransition(_("pledge_schedule"), current, target)


class InvalidSchedule(RuleViolation, ValueError):
    """A schedule's terms that cannot make a schedule (still a ValueError for callers)."""


@cache
def time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def zone(name: str) -> ZoneInfo:
    if name not in time_zones():
        raise InvalidSchedule(_("Unknown time zone '%(name)s'."), params={"name": name})
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError as exc:  # pragma: no cover - listed but not loadable
        raise InvalidSchedule(_("Unknown time zone '%(name)s'."), params={"name": name}) from exc


def clamp_day(year: int, month: int, day: int) -> date:
    """``day`` of the month, or the month's last day when it has fewer days."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def add_months(year: int, month: int, n: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + n
    return index // 12, index % 12 + 1


@dataclass(frozen=True)
class Spec:
    """What the rules read of a schedule."""

    interval: Interval | str
    day_of_month: int
    start: date
    end: date | None = None
    limit: int | None = None
    time_zone: str = DEFAULT_TIME_ZONE

    def __post_init__(self):
        if self.interval not in MONTHS:
            raise InvalidSchedule(
                _("Unknown interval '%(interval)s'."), params={"interval": self.interval}
            )
        if not 1 <= self.day_of_month <= 31:
            raise InvalidSchedule(_("The day of the month is 1 to 31."))
        if self.end is not None and self.limit is not None:
            raise InvalidSchedule(_("Give an end date or a number of occurrences, not both."))
        if self.end is not None and self.end < self.start:
            raise InvalidSchedule(_("The end is before the start."))
        if self.limit is not None and not 1 <= self.limit <= MAX_OCCURRENCES:
            raise InvalidSchedule(
                _("The number of occurrences is 1 to %(most)s."), params={"most": MAX_OCCURRENCES}
            )
        zone(self.time_zone)

    @property
    def step(self) -> int:
        return MONTHS[Interval(self.interval)]


@dataclass(frozen=True, order=True)
class Occurrence:
    on: date  # the day it is given
    period: date  # the first day of its period (its month, or its quarter from the start)
    index: int  # 0 for the first occurrence


def occurrences(spec: Spec) -> Iterator[Occurrence]:
    """Every occurrence of the schedule, in order (at most MAX_OCCURRENCES)."""
    year, month = spec.start.year, spec.start.month
    index = 0
    for k in range(MAX_OCCURRENCES + 1):
        y, m = add_months(year, month, k * spec.step)
        on = clamp_day(y, m, spec.day_of_month)
        if on < spec.start:
            continue
        if spec.end is not None and on > spec.end:
            return
        if spec.limit is not None and index >= spec.limit:
            return
        if index >= MAX_OCCURRENCES:
            return
        yield Occurrence(on=on, period=date(y, m, 1), index=index)
        index += 1


def period_of(spec: Spec, on: date) -> tuple[date, date]:
    """The period (first day, first day of the next) that the day ``on`` falls in."""
    offset = (on.year * 12 + on.month - 1) - (spec.start.year * 12 + spec.start.month - 1)
    first = add_months(spec.start.year, spec.start.month, (offset // spec.step) * spec.step)
    after = add_months(*first, spec.step)
    return date(*first, 1), date(*after, 1)


def due_at(spec: Spec, occurrence: Occurrence) -> datetime:
    """The instant (UTC) an occurrence becomes due: 00:00 of its day in the schedule's zone."""
    local = datetime.combine(occurrence.on, time(0), tzinfo=zone(spec.time_zone))
    return local.astimezone(UTC)


def local_today(spec: Spec, now: datetime) -> date:
    return now.astimezone(zone(spec.time_zone)).date()


def paused_during(instant: datetime, pauses: Iterable[tuple[datetime, datetime | None]]) -> bool:
    """Whether ``instant`` fell within a pause [paused at, resumed at) (None: still paused)."""
    return any(start <= instant and (end is None or instant < end) for start, end in pauses)


@dataclass(frozen=True)
class Plan:
    """What to do at ``now``: the occurrences to make (oldest first), when the next one falls
    due (None: no more), and whether the schedule is then complete."""

    make: list[Occurrence]
    next_due: datetime | None
    complete: bool


def plan(
    spec: Spec,
    *,
    now: datetime,
    made: Iterable[date] = (),
    pauses: Iterable[tuple[datetime, datetime | None]] = (),
) -> Plan:
    """The catch-up rule: every occurrence due by ``now`` whose period has no pledge yet
    (``made``: the periods already made) and that did not fall due while paused."""
    made = set(made)
    pauses = list(pauses)
    make: list[Occurrence] = []
    for occurrence in occurrences(spec):
        when = due_at(spec, occurrence)
        if when > now:
            return Plan(make=make, next_due=when, complete=False)
        if occurrence.period in made or paused_during(when, pauses):
            continue
        make.append(occurrence)
    return Plan(make=make, next_due=None, complete=True)


def amount_for(
    occurrence: Occurrence, *, amount: Decimal, amount_from: date | None, earlier_amount
) -> Decimal:
    """The amount of an occurrence: ``amount`` from ``amount_from`` on, ``earlier_amount`` for
    the occurrences dated before it (the ones due before the change, caught up late)."""
    if amount_from is not None and earlier_amount is not None and occurrence.on < amount_from:
        return earlier_amount
    return amount


def next_occurrence_after(spec: Spec, now: datetime) -> Occurrence | None:
    """The first occurrence that falls due after ``now`` (the "next" one of a change)."""
    for occurrence in occurrences(spec):
        if due_at(spec, occurrence) > now:
            return occurrence
    return None


def expected_by_month(
    spec: Spec, *, amount_of, first_month: date, months: int = 12, from_day: date | None = None
) -> dict[date, Decimal]:
    """{first day of month: sum} of the occurrences dated in ``months`` calendar months from
    ``first_month`` (on or after ``from_day``), each at ``amount_of(occurrence)``."""
    last = date(*add_months(first_month.year, first_month.month, months), 1)
    totals: dict[date, Decimal] = {}
    for occurrence in occurrences(spec):
        if occurrence.on >= last:
            break
        if occurrence.on < first_month or (from_day is not None and occurrence.on < from_day):
            continue
        month = occurrence.on.replace(day=1)
        totals[month] = totals.get(month, Decimal(0)) + amount_of(occurrence)
    return totals
