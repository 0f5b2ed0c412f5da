"""The incremental path for a new pledge: it reads only the needs the pledge can reach (a page
through an index, not the world), takes no matching lock and never waits for a full run, skips
needs another transaction holds, and never over-allocates when it races a full run."""

import threading
from datetime import timedelta
from decimal import Decimal

import psycopg2
import pytest
from django.db import connection, connections
from django.db.models import Q, Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aidmatch.lifecycle import ALLOCATION_LIVE, AllocationStatus
from apps.core.leases import lease_acquire, lease_release
from apps.matching.models import Allocation, MatchRun
from apps.matching.services.incremental import PAGE_FIRST
from apps.matching.services.runs import LEASE_NAME, match_run_execute
from apps.matching.tasks import run_matching
from apps.needs.models import Need
from apps.pledges.models import Pledge
from tests.factories import NeedFactory, PledgeFactory, propose
from tests.integration.conftest import _test_database_url

P = AllocationStatus.PROPOSED


def incremental(*pledges) -> MatchRun:
    return match_run_execute(
        trigger="event", mode="incremental", pledge_ids=[p.pk for p in pledges], wait=False
    )


def more_needs(like: Need, count: int, **changes) -> None:
    """``count`` open needs like ``like`` (bulk: the point is their number)."""
    fields = {
        f.attname: getattr(like, f.attname)
        for f in Need._meta.concrete_fields
        if not f.primary_key and not f.generated
    }
    fields.update(changes)
    Need.objects.bulk_create([Need(**{**fields, "title": f"Other need {i}"}) for i in range(count)])


def other_connection():
    conn = psycopg2.connect(_test_database_url())
    conn.autocommit = False
    return conn


@pytest.mark.django_db(transaction=True)
def test_a_new_pledge_is_proposed_while_a_full_run_holds_the_matching_lock():
    need = NeedFactory(urgency=5, amount=Decimal("800.00"))
    pledge = PledgeFactory(amount=Decimal("500.00"))
    # a full run in progress elsewhere holds the matching lease
    assert lease_acquire(name=LEASE_NAME, holder="a full run elsewhere", seconds=600)
    try:
        run_id = run_matching.delay(
            trigger="event", mode="incremental", pledge_ids=[str(pledge.pk)]
        ).get()
    finally:
        lease_release(name=LEASE_NAME, holder="a full run elsewhere")

    allocation = Allocation.objects.get(pledge=pledge, status=P)
    assert (allocation.need_id, allocation.amount) == (need.pk, Decimal("500.00"))
    run = MatchRun.objects.get(pk=run_id)
    assert (run.mode, run.status, run.created) == ("incremental", "succeeded", 1)
    assert allocation.match_run_id == run.pk
    assert allocation.explanation["admitted_by"] == "unrestricted"
    # the run's figures are what it wrote
    assert run.funded_minor == 50_000 and run.objective == 50_000 * allocation.explanation["weight"]
    pledge.refresh_from_db()
    need.refresh_from_db()
    assert pledge.proposed_amount == need.proposed_amount == Decimal("500.00")
    assert pledge.status == "fully_allocated"


@pytest.mark.django_db
def test_what_it_reads_does_not_grow_with_the_number_of_unrelated_open_needs():
    def measure(extra: int, sector: str) -> list[str]:
        best = NeedFactory(urgency=5, amount=Decimal("300.00"), sector_id=sector)
        second = NeedFactory(
            urgency=5,
            amount=Decimal("300.00"),
            sector_id=sector,
            organization=best.organization,
            deadline=best.deadline + timedelta(days=1),
        )
        more_needs(best, extra, urgency=3)  # open, reachable, less urgent
        more_needs(best, extra, sector_id="health", urgency=5)  # outside the earmark
        pledge = PledgeFactory(amount=Decimal("500.00"), sectors=[sector])
        with CaptureQueriesContext(connection) as queries:
            run = incremental(pledge)
        placed = dict(Allocation.objects.filter(pledge=pledge).values_list("need_id", "amount"))
        assert placed == {best.pk: Decimal("300.00"), second.pk: Decimal("200.00")}
        assert run.needs_seen <= PAGE_FIRST and run.stats["pages"] == 1
        return [q["sql"] for q in queries.captured_queries]

    few, many = measure(25, "food_security"), measure(250, "education")
    assert len(few) == len(many)
    assert len(many) <= 26, "\n".join(many)


@pytest.mark.django_db
def test_a_pledge_larger_than_a_page_reads_more_pages_in_weight_order():
    first = NeedFactory(urgency=5, amount=Decimal("10.00"))
    more_needs(first, 2 * PAGE_FIRST, urgency=4, amount=Decimal("10.00"))
    last = NeedFactory(urgency=1, amount=Decimal("10000.00"))
    pledge = PledgeFactory(amount=Decimal("1000.00"))

    run = incremental(pledge)

    assert run.stats["pages"] == 2
    placed = Allocation.objects.filter(pledge=pledge, status=P)
    assert placed.aggregate(s=Sum("amount"))["s"] == Decimal("1000.00")
    assert placed.filter(need=first).exists()
    last_share = placed.get(need=last).amount
    assert last_share == Decimal("1000.00") - Decimal("10.00") * (2 * PAGE_FIRST + 1)


@pytest.mark.django_db
def test_earmarks_declines_and_money_proposed_to_other_pledges_are_respected():
    need = NeedFactory(urgency=5, amount=Decimal("1000.00"), sector_id="education")
    declined = NeedFactory(urgency=5, amount=Decimal("1000.00"), sector_id="education")
    NeedFactory(urgency=5, amount=Decimal("1000.00"), sector_id="education", province_id="AF02")
    NeedFactory(urgency=5, amount=Decimal("1000.00"))  # another sector
    lower = NeedFactory(urgency=2, amount=Decimal("1000.00"), sector_id="education")
    propose(PledgeFactory(amount=Decimal("600.00")), need, Decimal("600.00"))
    pledge = PledgeFactory(amount=Decimal("700.00"), sectors=["education"], provinces=["AF01"])
    Allocation.objects.create(
        pledge=pledge, need=declined, amount=1, need_amount=1, status="declined"
    )

    run = incremental(pledge)

    rows = dict(Allocation.objects.filter(pledge=pledge, status=P).values_list("need", "amount"))
    assert rows == {need.pk: Decimal("400.00"), lower.pk: Decimal("300.00")}
    assert run.stats["admitted_by"] == {"sector+province earmark": 2}
    need.refresh_from_db()
    assert need.proposed_amount == need.amount


def _lock_row(conn, table: str, pk) -> None:
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE", [str(pk)])


@pytest.mark.django_db(transaction=True)
def test_a_need_held_by_another_transaction_is_passed_over_without_waiting(settings):
    settings.MATCHING_INCREMENTAL_RETRY_SECONDS = 0
    held = NeedFactory(urgency=5, amount=Decimal("800.00"))
    free = NeedFactory(urgency=4, amount=Decimal("800.00"))
    pledge = PledgeFactory(amount=Decimal("500.00"))
    holder = other_connection()
    try:
        _lock_row(holder, Need._meta.db_table, held.pk)  # e.g. a full run's write
        run = incremental(pledge)
    finally:
        holder.close()

    assert run.stats["needs_busy"] == 1
    rows = dict(Allocation.objects.filter(pledge=pledge, status=P).values_list("need", "amount"))
    assert rows == {free.pk: Decimal("500.00")}


@pytest.mark.django_db(transaction=True)
def test_a_pledge_held_by_another_transaction_is_retried_then_left_to_the_full_run(settings):
    settings.MATCHING_INCREMENTAL_RETRY_SECONDS = 0.3
    NeedFactory(urgency=5, amount=Decimal("800.00"))
    pledge = PledgeFactory(amount=Decimal("500.00"))
    holder = other_connection()
    try:
        _lock_row(holder, Pledge._meta.db_table, pledge.pk)
        run = incremental(pledge)
    finally:
        holder.close()

    assert run.status == "succeeded" and run.created == 0
    assert run.stats["pledges_busy"] == run.stats["attempts"] >= 2
    assert incremental(pledge).created == 1  # once free, the next delivery places it


def assert_money_holds():
    live = [s.value for s in ALLOCATION_LIVE]
    for pledge in Pledge.objects.annotate(
        proposed=Sum("allocations__amount", filter=Q(allocations__status="proposed")),
        live=Sum("allocations__amount", filter=Q(allocations__status__in=live)),
    ):
        assert pledge.proposed_amount == (pledge.proposed or 0), pledge.pk
        assert (pledge.live or 0) <= pledge.amount, pledge.pk
    for need in Need.objects.annotate(
        proposed=Sum("allocations__need_amount", filter=Q(allocations__status="proposed")),
        live=Sum("allocations__need_amount", filter=Q(allocations__status__in=live)),
    ):
        assert need.proposed_amount == (need.proposed or 0), need.pk
        assert (need.live or 0) <= need.amount, need.pk


@pytest.mark.django_db(transaction=True)
def test_incremental_runs_racing_full_runs_never_over_allocate():
    needs = [NeedFactory(urgency=1 + i % 5, amount=Decimal("700.00") + i) for i in range(12)]
    for i in range(10):
        PledgeFactory(amount=Decimal("300.00") + i, expires_at=timezone.now() + timedelta(days=i))
    new = [PledgeFactory(amount=Decimal("450.00") + i) for i in range(16)]
    errors: list[BaseException] = []

    def in_thread(work):
        def target():
            try:
                work()
            except BaseException as exc:
                errors.append(exc)
            finally:
                connections.close_all()

        return threading.Thread(target=target)

    def full_runs():
        for _ in range(3):
            match_run_execute(trigger="manual", mode="full")

    def incrementals(mine):
        def work():
            for pledge in mine:
                incremental(pledge)

        return work

    threads = [in_thread(full_runs), *(in_thread(incrementals(new[k::2])) for k in range(2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors

    assert_money_holds()
    assert Allocation.objects.filter(pledge__in=new, status=P).exists()
    total_need = sum(n.amount for n in needs)
    assert Need.objects.aggregate(s=Sum("proposed_amount"))["s"] <= total_need
