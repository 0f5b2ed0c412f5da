"""A full run through PostgreSQL: its figures describe what the database holds, it writes no row
below the minimum, it never waits on rows a request transaction holds, and its statements do
not grow with the world."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aidmatch import matching
from aidmatch.lifecycle import AllocationStatus
from apps.fx.models import ExchangeRate
from apps.matching.models import Allocation, MatchRun
from apps.matching.services.apply import apply_solution
from apps.matching.services.runs import match_run_execute
from apps.matching.services.snapshot import load_world
from apps.needs.models import Need
from apps.pledges.models import Pledge
from tests.factories import NeedFactory, PledgeFactory

P = AllocationStatus.PROPOSED


def full_run() -> MatchRun:
    return match_run_execute(trigger="manual", mode="full")


def held_units() -> int:
    """Minor units of the pool in the proposals the database holds, as a run counts them."""
    pool = load_world().pool
    return sum(
        pool.to_pool(amount, currency)
        for amount, currency in Allocation.objects.filter(status=P).values_list(
            "amount", "pledge__currency_id"
        )
    )


def snapshot() -> dict:
    return {
        a.pk: (a.status, a.amount, a.match_run_id)
        for a in Allocation.objects.only("status", "amount", "match_run")
    }


@pytest.mark.django_db
def test_a_runs_figures_equal_what_the_allocations_table_holds():
    pledges = [PledgeFactory(amount=Decimal(a)) for a in ("700.00", "450.25", "300.50")]
    needs = [NeedFactory(amount=Decimal("400.00"), urgency=u) for u in (2, 3, 4)]

    first = full_run()

    placed = Allocation.objects.filter(status=P).aggregate(s=Sum("amount"))["s"]
    assert first.funded_minor == held_units() == int(placed * 100)
    assert first.created == Allocation.objects.filter(status=P, match_run=first).count()
    assert first.skipped_stale == 0
    before = snapshot()

    # a new, most urgent need: the next run moves money to it
    NeedFactory(amount=Decimal("900.00"), urgency=5)
    second = full_run()

    after = snapshot()
    created = [pk for pk in after if pk not in before]
    resized = [
        pk
        for pk, (status, amount, run) in after.items()
        if pk in before and status == P and run == second.pk and amount != before[pk][1]
    ]
    released = [pk for pk, (status, _, _) in after.items() if pk in before and status == "released"]
    assert second.created == len(created) > 0
    assert second.resized == len(resized)
    assert second.released == len(released)
    assert second.released + second.resized > 0
    assert second.funded_minor == held_units()
    assert second.skipped_stale == 0
    for p in Pledge.objects.filter(pk__in=[p.pk for p in pledges]):
        live = Allocation.objects.filter(pledge=p, status=P).aggregate(s=Sum("amount"))["s"]
        assert p.proposed_amount == (live or 0) <= p.amount
    for n in Need.objects.filter(pk__in=[n.pk for n in needs]):
        live = Allocation.objects.filter(need=n, status=P).aggregate(s=Sum("need_amount"))["s"]
        assert n.proposed_amount == (live or 0) <= n.amount


@pytest.mark.django_db
def test_no_row_below_the_minimum_is_written_and_the_figures_say_so():
    pledge = PledgeFactory(amount=Decimal("1000.50"))
    NeedFactory(amount=Decimal("1000.00"), urgency=5)
    NeedFactory(amount=Decimal("500.00"), urgency=1)  # could take the last 0.50

    run = full_run()

    smallest = Decimal(settings.MATCHING_MIN_UNITS) / 100
    assert not Allocation.objects.filter(amount__lt=smallest).exists()
    assert list(Allocation.objects.filter(pledge=pledge).values_list("amount", flat=True)) == [
        Decimal("1000.00")
    ]
    assert run.funded_minor == held_units() == 100_000
    assert run.created == 1


@pytest.mark.django_db
def test_rounding_between_currencies_is_not_counted_as_stale():
    today = timezone.now().date()
    ExchangeRate.objects.create(
        base_id="EUR", quote_id="USD", rate=Decimal("1.0837"), date=today, source="test"
    )
    ExchangeRate.objects.create(
        base_id="USD", quote_id="AFN", rate=Decimal("70.53"), date=today, source="test"
    )
    for i in range(12):
        PledgeFactory(amount=Decimal("33.33") + i, currency_id=["EUR", "USD", "AFN"][i % 3])
    for i in range(9):
        NeedFactory(
            amount=Decimal("1777.77") + 13 * i, currency_id=["AFN", "EUR", "USD"][i % 3], urgency=5
        )

    run = full_run()

    assert run.skipped_stale == 0
    assert run.funded_minor == held_units()
    assert run.created == Allocation.objects.filter(status=P).count()


@pytest.mark.django_db
def test_the_write_takes_the_same_statements_whatever_the_size_of_the_world():
    def statements(size: int) -> int:
        Allocation.objects.all().delete()
        Pledge.objects.update(proposed_amount=0, status="open")
        Need.objects.update(proposed_amount=0, status="open")
        for _ in range(size):
            PledgeFactory(amount=Decimal("100.00"))
            NeedFactory(amount=Decimal("150.00"))
        world = load_world()
        rows = matching.solve(world.pledges, world.needs, world.proposals, today=world.today).rows
        run = MatchRun.objects.create(trigger="manual")
        with CaptureQueriesContext(connection) as queries:
            apply_solution(world=world, rows=list(rows), run=run)
        return len(queries)

    assert statements(2) == statements(20)


def _hold(pledge_id, locked: threading.Event, release: threading.Event) -> None:
    """Another connection, as a request would: a transaction holding one pledge's row lock."""
    try:
        with transaction.atomic():
            Pledge.objects.select_for_update().get(pk=pledge_id)
            locked.set()
            release.wait(timeout=60)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_full_run_does_not_wait_on_a_pledge_a_request_holds_and_the_next_run_takes_it():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's (SQLite runs one writer at a time)")
    busy = PledgeFactory(amount=Decimal("300.00"))
    free = PledgeFactory(amount=Decimal("200.00"))
    NeedFactory(amount=Decimal("1000.00"), urgency=5)
    locked, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold, args=(busy.pk, locked, release))
    holder.start()
    try:
        assert locked.wait(timeout=30)

        run = full_run()

        assert not release.is_set() and holder.is_alive()  # done while the lock was held
        assert run.status == "succeeded"
        assert run.stats["skipped_busy"] == 1
        assert not Allocation.objects.filter(pledge=busy).exists()
        assert Allocation.objects.get(pledge=free, status=P).amount == Decimal("200.00")
        assert Pledge.objects.get(pk=busy.pk).proposed_amount == 0
        assert run.funded_minor == held_units() == 20_000
        # one full run is queued for what was left, sent when this run's task ends
        follow_up = MatchRun.objects.get(status="queued", mode="full")
        assert follow_up.enqueued_at is None
    finally:
        release.set()
        holder.join(timeout=30)

    again = match_run_execute(trigger="event", mode="full", run_id=follow_up.pk)

    assert again.stats["skipped_busy"] == 0 and again.created == 1
    assert Allocation.objects.get(pledge=busy, status=P).amount == Decimal("300.00")
    assert again.funded_minor == held_units() == 50_000


@pytest.mark.django_db
def test_the_world_is_read_in_order_of_creation_and_ranked_for_stable_tie_breaks():
    later = PledgeFactory()
    earlier = PledgeFactory()
    Pledge.objects.filter(pk=earlier.pk).update(created_at=later.created_at - timedelta(hours=1))
    needs = [NeedFactory(), NeedFactory()]
    Need.objects.filter(pk=needs[1].pk).update(created_at=needs[0].created_at - timedelta(hours=1))

    world = load_world()

    assert [p.id for p in world.pledges] == [str(earlier.pk), str(later.pk)]
    assert [n.id for n in world.needs] == [str(needs[1].pk), str(needs[0].pk)]
    assert [p.rank for p in world.pledges] == [0, 1]  # the solver's stable tie-break
    assert [n.rank for n in world.needs] == [0, 1]
