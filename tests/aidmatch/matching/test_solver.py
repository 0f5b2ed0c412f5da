"""The exact solver's rules, each in a small world where the answer is known."""

import random
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from aidmatch.matching import (
    VERSION,
    NeedIn,
    PledgeIn,
    Proposal,
    check_rows,
    eligible,
    evaluate,
    greedy_fill,
    insert_greedy,
    solve,
    weight,
)
from aidmatch.matching.model import (
    DEADLINE_MAX,
    FAIRNESS_MAX,
    STABILITY_BONUS,
    URGENCY_STEP,
    fairness_bands,
)
from bench.worlds import extra_needs, extra_pledges, make_world

TODAY = date(2026, 6, 1)


def need(nid, capacity, *, urgency=3, days=100, sector="food", province="AF01", org="o1"):
    return NeedIn(nid, capacity, sector, province, org, urgency, TODAY + timedelta(days=days))


def rows_of(solution):
    return {(r.pledge, r.need): r.amount for r in solution.rows}


def moved_share(before, after):
    old, new = rows_of(before), rows_of(after)
    moved = sum(max(0, a - new.get(k, 0)) for k, a in old.items())
    return moved / max(1, sum(old.values()))


def test_the_cost_scale_keeps_urgency_above_everything_else():
    assert DEADLINE_MAX + FAIRNESS_MAX + STABILITY_BONUS < URGENCY_STEP
    assert weight(need("a", 1, urgency=5, days=365), TODAY) > weight(
        need("b", 1, urgency=4, days=-30), TODAY
    )
    assert weight(need("a", 1, days=10), TODAY) > weight(need("b", 1, days=20), TODAY)


def test_urgency_wins_over_deadline_fairness_and_a_current_proposal():
    # Given need B (urgency 4, due today) in an uncovered province, holding the pledge's
    # current proposal, and need A (urgency 5, due in a year) in a province already covered
    a = need("A", 100, urgency=5, days=400, province="AF01")
    b = need("B", 100, urgency=4, days=0, province="AF02")
    covered = need("C", 100, urgency=1, province="AF01")
    pledges = [PledgeIn("free", 100), PledgeIn("kabul", 100, need="C")]

    # When the solver runs with fairness and stability
    solution = solve(pledges, [a, b, covered], [Proposal("free", "B", 100)], today=TODAY)

    # Then the free pledge's money goes to the urgency-5 need
    assert rows_of(solution)[("free", "A")] == 100
    assert ("free", "B") not in rows_of(solution)


def test_no_money_is_stranded_by_the_fairness_penalty():
    # A pledge that can only go to an over-covered province is still placed there.
    needs = [need("k1", 1000, province="AF01", urgency=1), need("h1", 1000, province="AF02")]
    pledges = [
        PledgeIn("big", 900, provinces=frozenset({"AF01"})),
        PledgeIn("tiny", 10, provinces=frozenset({"AF02"})),
    ]
    solution = solve(pledges, needs, today=TODAY)
    assert solution.funded == 910
    assert [b for b in fairness_bands(1000, 910, 2000) if b[1] == FAIRNESS_MAX]  # top band used


def test_fairness_evens_coverage_across_provinces_among_equal_needs():
    # Given Kabul (AF01) needs 200 and AF02 needs 100, with 100 earmarked to Kabul and 100 free
    needs = [
        need("k", 100, province="AF01"),
        need("h", 100, province="AF02"),
        need("k2", 100, province="AF01"),
    ]
    pledges = [PledgeIn("kabul", 100, provinces=frozenset({"AF01"})), PledgeIn("free", 100)]

    rows = rows_of(solve(pledges, needs, today=TODAY))

    # Then the free money evens the coverage (about 2/3 in each province)
    kabul = sum(a for (_, n), a in rows.items() if n.startswith("k")) / 200
    other = rows.get(("free", "h"), 0) / 100
    assert abs(kabul - other) <= 0.02
    assert sum(rows.values()) == 200


def test_earmarks_are_respected_and_rows_split_soonest_expiring_first():
    soon = datetime(2026, 7, 1)
    pledges = [
        PledgeIn("late", 50, sectors=frozenset({"edu"}), expires_at=soon + timedelta(days=30)),
        PledgeIn("early", 50, sectors=frozenset({"edu"}), expires_at=soon),
        PledgeIn("org", 40, organization="o2"),
        PledgeIn("one", 30, need="e2"),
    ]
    needs = [
        need("e1", 60, sector="edu", urgency=5),
        need("e2", 200, sector="edu", org="o2", urgency=2),
        need("f1", 100, sector="food", urgency=5),
    ]
    solution = solve(pledges, needs, today=TODAY)
    rows = rows_of(solution)
    assert check_rows(solution.rows, pledges, needs) == []
    assert rows[("early", "e1")] == 50  # the soonest-expiring pledge goes first
    assert rows[("late", "e1")] == 10
    assert rows[("org", "e2")] == 40 and rows[("one", "e2")] == 30
    assert all(eligible(p, n) for p in pledges for n in needs if (p.id, n.id) in rows)
    explanation = next(r for r in solution.rows if r.pledge == "one").explanation
    assert explanation == {
        "admitted_by": "need earmark",
        "urgency": 2,
        "deadline": "2026-09-09",
        "weight": weight(needs[1], TODAY),
        "rule": explanation["rule"],
        "kept": False,
    }
    assert solution.version == VERSION and "ortools-9.15" in VERSION


def test_a_rerun_with_nothing_better_keeps_proposals_and_a_plain_resolve_does_not():
    world = make_world(400, 400, seed=3)
    first = solve(world.pledges, world.needs, today=world.today)
    proposals = [Proposal(r.pledge, r.need, r.amount) for r in first.rows]
    more = [*world.pledges, *extra_pledges(world, 1, seed=99)]

    stable = solve(more, world.needs, proposals, today=world.today)
    plain = solve(more, world.needs, today=world.today, stability=False)

    assert moved_share(first, stable) < 0.02
    assert moved_share(first, stable) < moved_share(first, plain)
    assert stable.stats["kept_amount"] >= 0.98 * first.funded
    same = solve(world.pledges, world.needs, proposals, today=world.today)
    assert rows_of(same) == rows_of(first)
    assert all(r.explanation["kept"] for r in same.rows)


def test_the_exact_solve_is_never_worse_than_greedy():
    world = make_world(300, 300, seed=5)
    exact = solve(world.pledges, world.needs, today=world.today, fairness=False, stability=False)
    greedy = greedy_fill(world.pledges, world.needs, today=world.today)
    assert check_rows(greedy.rows, world.pledges, world.needs) == []
    assert exact.stats["weighted"] >= greedy.stats["weighted"]
    assert exact.funded >= greedy.funded


def test_insert_greedy_places_only_new_money_and_fills_new_needs():
    world = make_world(200, 200, seed=7)
    base = solve(world.pledges, world.needs, today=world.today)
    proposals = [Proposal(r.pledge, r.need, r.amount) for r in base.rows]
    new_pledge = extra_pledges(world, 1, seed=11)[0]
    new_needs = extra_needs(world, 3, seed=12)

    solution = insert_greedy(
        [*world.pledges, new_pledge],
        [*world.needs, *new_needs],
        proposals,
        new_pledges=[new_pledge.id],
        new_needs=[n.id for n in new_needs],
        today=world.today,
    )

    assert check_rows(solution.rows, [*world.pledges, new_pledge], [*world.needs, *new_needs]) == []
    old = rows_of(base)
    new = rows_of(solution)
    assert all(new[k] == v for k, v in old.items())  # every proposal kept, unchanged
    added = {k: v for k, v in new.items() if k not in old}
    assert all(k[0] == new_pledge.id or k[1] in {n.id for n in new_needs} for k in added)
    assert solution.solver == "greedy-insert"


def test_empty_inputs_and_capacity_limits():
    assert solve([], [], today=TODAY).rows == ()
    assert solve([PledgeIn("p", 10)], [], today=TODAY).funded == 0
    with pytest.raises(OverflowError):
        solve([PledgeIn("p", 2**62)], [need("n", 2**62)], today=TODAY)
    with pytest.raises(ValueError, match="duplicate"):
        solve([PledgeIn("p", 1), PledgeIn("p", 2)], [need("n", 1)], today=TODAY)
    with pytest.raises(ValueError, match="urgency"):
        solve([PledgeIn("p", 1)], [need("n", 1, urgency=7)], today=TODAY)


def _renamed(world, rnd):
    """The same world under random ids, each pledge and need ranked by its old position."""
    fresh = {}

    def new(old):
        return fresh.setdefault(old, f"{rnd.getrandbits(128):032x}")

    needs = [
        replace(n, id=new(n.id), organization=new(n.organization), rank=i)
        for i, n in enumerate(world.needs)
    ]
    pledges = [
        replace(
            p,
            id=new(p.id),
            organization=p.organization and new(p.organization),
            need=p.need and new(p.need),
            declined=frozenset(new(d) for d in p.declined),
            rank=i,
        )
        for i, p in enumerate(world.pledges)
    ]
    rnd.shuffle(needs)
    rnd.shuffle(pledges)
    return pledges, needs, fresh


def test_ties_break_on_rank_so_renamed_ids_give_the_same_rows():
    world = make_world(300, 300, seed=4)
    ranked_p = [replace(p, rank=i) for i, p in enumerate(world.pledges)]
    ranked_n = [replace(n, rank=i) for i, n in enumerate(world.needs)]
    first = solve(ranked_p, ranked_n, today=world.today)
    proposals = [Proposal(r.pledge, r.need, r.amount) for r in first.rows]
    again = solve(ranked_p, ranked_n, proposals[::2], today=world.today)
    for seed in (1, 2):
        pledges, needs, fresh = _renamed(world, random.Random(seed))
        renamed = solve(pledges, needs, today=world.today)
        assert rows_of(renamed) == {(fresh[p], fresh[n]): a for (p, n), a in rows_of(first).items()}
        assert renamed.objective == first.objective
        moved = [Proposal(fresh[p.pledge], fresh[p.need], p.amount) for p in proposals[::2]]
        re_renamed = solve(pledges, needs, moved, today=world.today)
        assert rows_of(re_renamed) == {
            (fresh[p], fresh[n]): a for (p, n), a in rows_of(again).items()
        }
    # Two pledges expiring together, one need too small for both: the lower rank goes first.
    both = [PledgeIn("b", 50, rank=1), PledgeIn("a", 50, rank=2)]
    assert rows_of(solve(both, [need("n", 60)], today=TODAY)) == {("b", "n"): 50, ("a", "n"): 10}


def test_no_row_below_the_minimum_and_the_figures_describe_the_rows():
    world = make_world(400, 400, seed=6)
    pure = solve(world.pledges, world.needs, today=world.today)
    least = sorted(r.amount for r in pure.rows)[len(pure.rows) // 50] + 1  # 2% of rows below
    proposals = [Proposal(r.pledge, r.need, r.amount) for r in pure.rows if r.amount >= least]
    for props in ((), proposals[::3]):
        solution = solve(world.pledges, world.needs, props, today=world.today, min_amount=least)
        assert min(r.amount for r in solution.rows) >= least
        assert check_rows(solution.rows, world.pledges, world.needs) == []
        scored = evaluate(solution.rows, world.pledges, world.needs, props, today=world.today)
        assert solution.objective == scored["objective"]
        assert solution.funded == scored["funded"] == sum(r.amount for r in solution.rows)
        assert solution.stats["weighted"] == scored["weighted"]
        stats = solution.stats
        assert stats["minimum_rows_dropped"] > 0
        assert 0 <= stats["minimum_objective_cost"]
        if not props:
            assert stats["minimum_amount_unplaced"] == pure.funded - solution.funded
        assert stats["minimum_amount_unplaced"] <= stats["minimum_amount_dropped"]

    new_pledge = extra_pledges(world, 1, seed=11)[0]
    new_needs = extra_needs(world, 3, seed=12)
    greedy = insert_greedy(
        [*world.pledges, new_pledge],
        [*world.needs, *new_needs],
        proposals,
        new_pledges=[new_pledge.id],
        new_needs=[n.id for n in new_needs],
        today=world.today,
        min_amount=least,
    )
    assert min(r.amount for r in greedy.rows) >= least
    assert check_rows(greedy.rows, [*world.pledges, new_pledge], [*world.needs, *new_needs]) == []
