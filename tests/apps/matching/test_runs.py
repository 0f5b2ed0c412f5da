"""Matching runs on PostgreSQL: what a run proposes, that it writes only differences, and that
it re-checks under row locks what the solver saw without them."""

from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from aidmatch import matching
from aidmatch.lifecycle import AllocationStatus, NeedStatus, OrganizationStatus
from apps.fx.models import ExchangeRate
from apps.matching.models import Allocation, MatchRun
from apps.matching.services.allocations import allocation_decline
from apps.matching.services.apply import apply_solution
from apps.matching.services.runs import (
    full_run_request,
    match_run_execute,
    match_runs_recover,
)
from apps.matching.services.snapshot import load_world
from apps.matching.tasks import recover_matching_runs, run_matching, sweep_matching
from apps.needs.models import Need
from apps.needs.services import need_cancel, need_update
from apps.pledges.models import Pledge
from tests.factories import NeedFactory, OrganizationFactory, PledgeFactory

pytestmark = pytest.mark.django_db
P = AllocationStatus.PROPOSED


def full_run(**kwargs) -> MatchRun:
    return match_run_execute(trigger="manual", mode="full", **kwargs)


def proposals(**filters):
    return Allocation.objects.filter(status=P, **filters)


def test_a_run_places_money_on_the_most_urgent_needs_first_and_explains_why():
    pledge = PledgeFactory(amount=Decimal("1000.00"))
    urgent = NeedFactory(amount=Decimal("600.00"), urgency=5)
    less = NeedFactory(amount=Decimal("600.00"), urgency=2)

    run = full_run()

    assert run.status == "succeeded" and run.created == 2
    assert run.solver and run.solver_version and run.objective > 0
    rows = {a.need_id: a for a in proposals(pledge=pledge)}
    assert rows[urgent.pk].amount == Decimal("600.00")
    assert rows[less.pk].amount == Decimal("400.00")
    assert rows[urgent.pk].explanation["admitted_by"] == "unrestricted"
    assert rows[urgent.pk].explanation["urgency"] == 5
    assert rows[urgent.pk].match_run_id == run.pk
    pledge.refresh_from_db()
    assert (pledge.proposed_amount, pledge.status) == (Decimal("1000.00"), "fully_allocated")
    assert Need.objects.get(pk=less.pk).proposed_amount == Decimal("400.00")


def test_a_second_run_with_nothing_new_changes_nothing():
    for _ in range(3):
        PledgeFactory(amount=Decimal("777.77"))
    for urgency in (1, 3, 5, 5):
        NeedFactory(amount=Decimal("500.00"), urgency=urgency)
    first = full_run()
    before = sorted(proposals().values_list("pk", "amount", "need_amount", "updated_at"))

    second = full_run()

    assert first.created > 0
    assert (second.created, second.resized, second.released) == (0, 0, 0)
    assert second.kept == first.created
    assert sorted(proposals().values_list("pk", "amount", "need_amount", "updated_at")) == before


def test_earmarks_are_respected():
    pledge = PledgeFactory(amount=Decimal("900.00"), sectors=["education"], provinces=["AF32"])
    food_kabul = NeedFactory(urgency=5)  # food_security, AF01: not admitted
    school = NeedFactory(sector_id="education", province_id="AF32", district_id=None, urgency=1)

    full_run()

    assert list(proposals(pledge=pledge).values_list("need_id", flat=True)) == [school.pk]
    assert not proposals(need=food_kabul).exists()
    assert proposals(pledge=pledge).get().explanation["admitted_by"] != "unrestricted"


def test_needs_of_organizations_that_are_not_verified_are_not_matched():
    PledgeFactory(amount=Decimal("500.00"))
    frozen = OrganizationFactory(status=OrganizationStatus.SCREENING)
    NeedFactory(organization=frozen, urgency=5)

    run = full_run()

    assert run.needs_seen == 0 and not proposals().exists()


def test_pledges_and_needs_in_other_currencies_meet_through_dated_rates():
    today = timezone.now().date()
    ExchangeRate.objects.create(
        base_id="EUR",
        quote_id="USD",
        rate=Decimal("1.08"),
        date=today,
        source="UN operational rates",
    )
    ExchangeRate.objects.create(
        base_id="USD",
        quote_id="AFN",
        rate=Decimal("70.5"),
        date=today,
        source="Da Afghanistan Bank",
    )
    pledge = PledgeFactory(amount=Decimal("100.00"), currency_id="EUR")
    need = NeedFactory(amount=Decimal("1000000.00"), currency_id="AFN")

    full_run()

    allocation = proposals(pledge=pledge).get()
    assert allocation.amount == Decimal("100.00")  # EUR
    assert allocation.need_id == need.pk
    assert allocation.rate == Decimal("76.14")  # 1.08 × 70.5 AFN per EUR
    assert allocation.need_amount == Decimal("7614.00")
    assert "USD" in allocation.rate_source
    need.refresh_from_db()
    assert need.proposed_amount == Decimal("7614.00")


def test_a_currency_without_a_rate_is_left_out_until_one_is_recorded():
    PledgeFactory(amount=Decimal("100.00"), currency_id="GBP")
    NeedFactory()

    run = full_run()

    assert run.stats["pledges_no_rate"] == 1 and not proposals().exists()


def test_auto_commit_pledges_commit_what_they_are_given_with_the_ledger():
    pledge = PledgeFactory(amount=Decimal("300.00"), auto_commit=True)
    need = NeedFactory(amount=Decimal("1000.00"))

    run = full_run()

    assert run.auto_committed == 1
    allocation = Allocation.objects.get(pledge=pledge)
    assert allocation.status == AllocationStatus.COMMITTED
    need.refresh_from_db()
    assert (need.committed_amount, need.status) == (Decimal("300.00"), "partially_funded")
    # the autouse fixture then reconciles the ledger with these totals


def test_a_declined_proposal_is_not_proposed_again_to_the_same_need():
    pledge = PledgeFactory(amount=Decimal("500.00"))
    first = NeedFactory(amount=Decimal("500.00"), urgency=5)
    second = NeedFactory(amount=Decimal("500.00"), urgency=3)
    full_run()
    proposal = proposals(pledge=pledge).get()
    assert proposal.need_id == first.pk

    allocation_decline(allocation_id=proposal.pk, actor=pledge.donor)
    full_run()

    assert list(proposals(pledge=pledge).values_list("need_id", flat=True)) == [second.pk]


def test_the_write_rechecks_under_locks_what_the_solver_saw_without_them():
    PledgeFactory(amount=Decimal("800.00"))
    need = NeedFactory(amount=Decimal("500.00"), urgency=5)
    other = NeedFactory(amount=Decimal("500.00"), urgency=1)
    world = load_world()
    solution = matching.solve(world.pledges, world.needs, world.proposals, today=world.today)
    need_cancel(need_id=need.pk)  # between the read and the write
    run = MatchRun.objects.create(trigger="manual")

    outcome = apply_solution(world=world, rows=list(solution.rows), run=run)

    assert outcome.skipped_stale == 1
    assert list(proposals().values_list("need_id", flat=True)) == [other.pk]
    assert Need.objects.get(pk=need.pk).proposed_amount == 0


def test_money_freed_by_a_smaller_need_moves_and_totals_stay_exact():
    pledges = [PledgeFactory(amount=Decimal("250.00")) for _ in range(4)]
    needs = [NeedFactory(amount=Decimal("400.00"), urgency=u) for u in (5, 4, 3)]
    full_run()
    need_update(need_id=needs[0].pk, amount=Decimal("100.00"))  # releases what no longer fits

    full_run()

    for p in Pledge.objects.filter(pk__in=[p.pk for p in pledges]):
        live = Allocation.objects.filter(pledge=p, status=P).aggregate(s=Sum("amount"))["s"]
        assert p.proposed_amount == (live or 0) <= p.amount
    placed = Pledge.objects.filter(pk__in=[p.pk for p in pledges]).aggregate(
        s=Sum("proposed_amount")
    )["s"]
    assert placed == Decimal("900.00")  # every need full: 100 + 400 + 400
    for n in Need.objects.filter(pk__in=[n.pk for n in needs]):
        live = Allocation.objects.filter(need=n, status=P).aggregate(s=Sum("need_amount"))["s"]
        assert n.proposed_amount == (live or 0) <= n.amount
    assert [Need.objects.get(pk=n.pk).proposed_amount for n in needs] == [
        Decimal("100.00"),
        Decimal("400.00"),
        Decimal("400.00"),
    ]


def test_expired_pledges_and_needs_past_their_deadline_are_not_matched():
    PledgeFactory(expires_at=timezone.now() - timedelta(minutes=1))
    NeedFactory(deadline=date(2020, 1, 1))
    PledgeFactory()
    NeedFactory(status=NeedStatus.SUBMITTED)

    run = full_run()

    assert (run.pledges_seen, run.needs_seen, run.created) == (1, 0, 0)


def test_a_deadline_is_over_when_its_day_has_ended_in_the_organizations_time_zone(clock):
    # 2026-11-25 20:00 UTC is 2026-11-26 00:30 in Kabul and 15:00 on the 25th in New York.
    kabul_25th = NeedFactory(deadline=date(2026, 11, 25), amount=Decimal("100.00"))
    kabul_26th = NeedFactory(deadline=date(2026, 11, 26), amount=Decimal("100.00"))
    new_york_25th = NeedFactory(
        organization=OrganizationFactory(time_zone="America/New_York"),
        deadline=date(2026, 11, 25),
        amount=Decimal("100.00"),
    )
    PledgeFactory(amount=Decimal("1000.00"))
    clock("2026-11-25T20:00:00+00:00")

    run = full_run()

    assert run.needs_seen == 2
    assert set(proposals().values_list("need_id", flat=True)) == {kabul_26th.pk, new_york_25th.pk}
    assert not proposals(need=kabul_25th).exists()


def test_the_task_records_its_run_and_a_repeat_changes_nothing():
    PledgeFactory(amount=Decimal("100.00"))
    NeedFactory()

    first = MatchRun.objects.get(pk=run_matching.delay(trigger="manual").get())
    second = MatchRun.objects.get(pk=run_matching.delay(trigger="manual").get())

    assert (first.created, second.created, second.kept) == (1, 0, 1)
    assert MatchRun.objects.filter(status="succeeded").count() == 2


def test_a_resized_proposal_is_converted_whole_at_the_rate_it_records():
    today = timezone.now().date()
    ExchangeRate.objects.create(
        base_id="EUR", quote_id="USD", rate=Decimal("1.08"), date=today, source="first"
    )
    pledge = PledgeFactory(amount=Decimal("100.00"), currency_id="EUR")
    NeedFactory(amount=Decimal("1000.00"), urgency=2)
    full_run()
    ExchangeRate.objects.create(
        base_id="EUR", quote_id="USD", rate=Decimal("1.1"), date=today, source="later"
    )
    NeedFactory(amount=Decimal("55.00"), urgency=5)  # takes part of the pledge

    run = full_run()

    assert run.resized == 1 and run.created == 1
    for allocation in proposals(pledge=pledge):
        assert allocation.rate == Decimal("1.1")
        assert allocation.need_amount == (allocation.amount * allocation.rate).quantize(
            Decimal("0.01"), rounding=ROUND_DOWN
        )


def test_triggers_during_a_run_queue_exactly_one_follow_up():
    MatchRun.objects.create(
        trigger="event",
        status="running",
        attempts=1,
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )

    joined = [full_run_request(reason=f"change {i}") for i in range(300)]

    assert sum(created for _, created in joined) == 1
    assert len({run.pk for run, _ in joined}) == 1
    assert MatchRun.objects.filter(status="queued").count() == 1
    # a manual run is asked for on its own: it is not folded into the automatic one
    manual = MatchRun.objects.create(trigger="manual", enqueued_at=timezone.now())
    assert full_run_request(reason="one more")[0].pk != manual.pk


def test_a_repeated_message_of_a_finished_run_changes_nothing():
    PledgeFactory(amount=Decimal("100.00"))
    NeedFactory()
    run = full_run()

    again = match_run_execute(trigger="manual", run_id=run.pk)

    assert again is None
    run.refresh_from_db()
    assert (run.status, run.attempts) == ("succeeded", 1)


def test_runs_whose_worker_died_and_queued_runs_whose_message_was_lost_are_retried():
    PledgeFactory(amount=Decimal("100.00"))
    NeedFactory()
    now = timezone.now()
    dead = MatchRun.objects.create(
        trigger="event", status="running", attempts=1, lease_expires_at=now - timedelta(seconds=1)
    )
    lost = MatchRun.objects.create(
        trigger="manual", status="queued", enqueued_at=now - timedelta(minutes=10)
    )
    just_sent = MatchRun.objects.create(trigger="manual", status="queued", enqueued_at=now)

    sent, abandoned = match_runs_recover()

    assert {r.pk for r in sent} == {dead.pk, lost.pk} and not abandoned
    assert MatchRun.objects.get(pk=dead.pk).status == "queued"
    assert MatchRun.objects.get(pk=just_sent.pk).enqueued_at == now
    assert match_runs_recover() == ([], False)  # marked as sent: not sent twice


def test_recovery_runs_them_to_the_end_through_the_task():
    PledgeFactory(amount=Decimal("100.00"))
    NeedFactory()
    dead = MatchRun.objects.create(
        trigger="event",
        status="running",
        attempts=1,
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )

    assert recover_matching_runs() == 1

    dead.refresh_from_db()
    assert (dead.status, dead.attempts, dead.created) == ("succeeded", 2, 1)


def test_a_deferred_run_is_sent_again_only_when_no_run_is_alive_to_send_it():
    alive = MatchRun.objects.create(
        trigger="manual",
        status="running",
        attempts=1,
        lease_expires_at=timezone.now() + timedelta(minutes=1),
    )
    deferred = MatchRun.objects.create(trigger="event", status="queued", enqueued_at=None)

    assert match_runs_recover() == ([], False)

    alive.status = "succeeded"
    alive.save()
    sent, _ = match_runs_recover()
    assert [r.pk for r in sent] == [deferred.pk]


def test_a_dead_incremental_run_is_abandoned_for_a_full_run_and_retries_are_bounded(settings):
    PledgeFactory(amount=Decimal("100.00"))
    NeedFactory()
    expired = timezone.now() - timedelta(seconds=1)
    incremental = MatchRun.objects.create(
        trigger="event", mode="incremental", status="running", attempts=1, lease_expires_at=expired
    )
    doomed = MatchRun.objects.create(
        trigger="manual",
        status="running",
        attempts=settings.MATCHING_RUN_MAX_ATTEMPTS,
        lease_expires_at=expired,
    )

    recover_matching_runs()

    incremental.refresh_from_db()
    doomed.refresh_from_db()
    assert incremental.status == "abandoned" and "full run" in incremental.error
    assert doomed.status == "abandoned" and "deliveries" in doomed.error
    full = MatchRun.objects.get(mode="full", trigger="periodic")
    assert (full.status, full.created) == ("succeeded", 1)


def test_the_sweep_starts_a_periodic_full_run_only_when_none_started_lately():
    sweep_matching()
    sweep_matching()

    assert list(MatchRun.objects.values_list("trigger", "status")) == [("periodic", "succeeded")]


def test_by_default_a_dead_worker_is_found_within_two_minutes():
    from config.settings import base

    lease, sweep = base.MATCHING_RUN_LEASE_SECONDS, base.MATCHING_SWEEP_SECONDS
    assert lease + sweep <= 120
    assert base.CELERY_BEAT_SCHEDULE["sweep-matching"]["schedule"] <= timedelta(seconds=60)


def test_a_failed_runs_error_shown_to_verifiers_leaves_out_the_rows_values():
    from django.db import IntegrityError, transaction

    from apps.matching.services.runs import _record_failure
    from tests.factories import UserFactory

    UserFactory(email="layla.ahmadi@example.org")
    try:
        with transaction.atomic():
            UserFactory(email="layla.ahmadi@example.org")
    except IntegrityError as exc:
        raised = exc
    run = MatchRun.objects.create(trigger="manual", mode="full")

    _record_failure(run, raised)

    run.refresh_from_db()
    assert run.status == "failed" and run.error.startswith("IntegrityError: duplicate key")
    assert "DETAIL:" in run.error and "layla" not in run.error
