"""The dates of recurring pledges: month ends, leap years, Asia/Kabul's day, catch-up."""

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aidmatch.errors import InvalidTransition
from aidmatch.schedules import (
    Occurrence,
    Spec,
    amount_for,
    check_schedule_transition,
    due_at,
    expected_by_month,
    next_occurrence_after,
    occurrences,
    period_of,
    plan,
)


def dates(spec, n=None):
    found = [o.on for o in occurrences(spec)]
    return found if n is None else found[:n]


def test_the_31st_is_the_last_day_of_shorter_months():
    spec = Spec(interval="monthly", day_of_month=31, start=date(2026, 1, 1), limit=7)
    assert dates(spec) == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
        date(2026, 6, 30),
        date(2026, 7, 31),
    ]


def test_february_has_29_days_in_a_leap_year():
    spec = Spec(interval="monthly", day_of_month=30, start=date(2028, 1, 15), limit=3)
    assert dates(spec) == [date(2028, 1, 30), date(2028, 2, 29), date(2028, 3, 30)]


def test_quarterly_counts_from_the_start_month_and_skips_a_day_already_past():
    spec = Spec(interval="quarterly", day_of_month=10, start=date(2026, 1, 20), limit=3)
    assert dates(spec) == [date(2026, 4, 10), date(2026, 7, 10), date(2026, 10, 10)]
    assert [o.period for o in occurrences(spec)] == [
        date(2026, 4, 1),
        date(2026, 7, 1),
        date(2026, 10, 1),
    ]


def test_an_end_date_is_inclusive():
    spec = Spec(interval="monthly", day_of_month=5, start=date(2026, 1, 1), end=date(2026, 3, 5))
    assert dates(spec) == [date(2026, 1, 5), date(2026, 2, 5), date(2026, 3, 5)]


def test_the_period_of_a_day():
    spec = Spec(interval="quarterly", day_of_month=1, start=date(2026, 2, 1))
    assert period_of(spec, date(2026, 6, 30)) == (date(2026, 5, 1), date(2026, 8, 1))
    monthly = Spec(interval="monthly", day_of_month=1, start=date(2026, 2, 1))
    assert period_of(monthly, date(2026, 6, 30)) == (date(2026, 6, 1), date(2026, 7, 1))


def test_due_at_midnight_in_kabul_is_19_30_utc_the_day_before():
    spec = Spec(interval="monthly", day_of_month=1, start=date(2026, 3, 1), limit=1)
    (first,) = occurrences(spec)
    assert due_at(spec, first) == datetime(2026, 2, 28, 19, 30, tzinfo=UTC)
    before = plan(spec, now=datetime(2026, 2, 28, 19, 29, 59, tzinfo=UTC))
    at = plan(spec, now=datetime(2026, 2, 28, 19, 30, tzinfo=UTC))
    assert before.make == [] and before.next_due == datetime(2026, 2, 28, 19, 30, tzinfo=UTC)
    assert at.make == [first] and at.complete


def test_a_beat_down_for_three_months_catches_each_period_up_once():
    spec = Spec(interval="monthly", day_of_month=15, start=date(2026, 1, 1))
    now = datetime(2026, 4, 20, tzinfo=UTC)
    found = plan(spec, now=now, made={date(2026, 1, 1)})
    assert [o.on for o in found.make] == [date(2026, 2, 15), date(2026, 3, 15), date(2026, 4, 15)]
    assert found.next_due == datetime(2026, 5, 14, 19, 30, tzinfo=UTC)
    again = plan(spec, now=now, made={o.period for o in occurrences(spec) if o.on < now.date()})
    assert again.make == []


def test_occurrences_due_while_paused_are_skipped():
    spec = Spec(interval="monthly", day_of_month=1, start=date(2026, 1, 1))
    pauses = [
        (datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 3, 15, tzinfo=UTC)),
        (datetime(2026, 4, 20, tzinfo=UTC), None),
    ]
    found = plan(spec, now=datetime(2026, 6, 5, tzinfo=UTC), pauses=pauses)
    assert [o.on for o in found.make] == [date(2026, 1, 1), date(2026, 4, 1)]


def test_an_amount_change_applies_from_its_date():
    occurrence = Occurrence(on=date(2026, 3, 1), period=date(2026, 3, 1), index=2)
    kwargs = {"amount": Decimal("20"), "earlier_amount": Decimal("10")}
    assert amount_for(occurrence, amount_from=date(2026, 3, 1), **kwargs) == Decimal("20")
    assert amount_for(occurrence, amount_from=date(2026, 3, 2), **kwargs) == Decimal("10")


def test_the_next_occurrence_after_an_instant():
    spec = Spec(interval="monthly", day_of_month=10, start=date(2026, 1, 1))
    assert next_occurrence_after(spec, datetime(2026, 1, 9, 19, 30, tzinfo=UTC)).on == date(
        2026, 2, 10
    )


def test_expected_by_month():
    spec = Spec(interval="monthly", day_of_month=31, start=date(2026, 1, 1), limit=3)
    totals = expected_by_month(
        spec, amount_of=lambda o: Decimal("5"), first_month=date(2026, 2, 1), months=12
    )
    assert totals == {date(2026, 2, 1): Decimal("5"), date(2026, 3, 1): Decimal("5")}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"day_of_month": 0},
        {"day_of_month": 32},
        {"interval": "weekly"},
        {"end": date(2026, 1, 1), "limit": 2},
        {"end": date(2025, 12, 1)},
        {"limit": 0},
        {"time_zone": "Mars/Olympus"},
    ],
)
def test_bad_specs_are_refused(kwargs):
    base = {"interval": "monthly", "day_of_month": 1, "start": date(2026, 1, 1)}
    with pytest.raises(ValueError):
        Spec(**(base | kwargs))


def test_transitions():
    check_schedule_transition("active", "paused")
    check_schedule_transition("paused", "active")
    with pytest.raises(InvalidTransition):
        check_schedule_transition("cancelled", "active")
    with pytest.raises(InvalidTransition):
        check_schedule_transition("stopped", "paused")


specs = st.builds(
    Spec,
    interval=st.sampled_from(["monthly", "quarterly"]),
    day_of_month=st.integers(1, 31),
    start=st.dates(date(2024, 1, 1), date(2030, 12, 31)),
    limit=st.integers(1, 40),
    time_zone=st.sampled_from(["Asia/Kabul", "UTC", "America/New_York", "Pacific/Kiritimati"]),
)


@given(specs)
def test_occurrences_are_ordered_one_per_period_on_the_clamped_day(spec):
    found = list(occurrences(spec))
    assert len(found) == spec.limit
    assert found[0].on >= spec.start
    step = spec.step
    for before, after in itertools.pairwise(found):
        months = (after.period.year - before.period.year) * 12 + after.period.month
        assert months - before.period.month == step
    for o in found:
        assert o.on.replace(day=1) == o.period
        assert o.on.day == spec.day_of_month or (o.on + timedelta(days=1)).day == 1
        assert period_of(spec, o.on)[0] == o.period


@given(specs, st.integers(0, 4000), st.integers(0, 4000))
def test_catching_up_in_two_runs_makes_what_one_run_makes(spec, first_hours, more_hours):
    """Two runs (a beat that came back, then ran again) make each period once, the same set
    as one late run."""
    start = datetime.combine(spec.start, datetime.min.time(), tzinfo=UTC)
    early = start + timedelta(hours=first_hours * 6)
    late = early + timedelta(hours=more_hours * 6)
    first = plan(spec, now=early)
    made = {o.period for o in first.make}
    second = plan(spec, now=late, made=made)
    assert not made & {o.period for o in second.make}
    assert made | {o.period for o in second.make} == {o.period for o in plan(spec, now=late).make}
