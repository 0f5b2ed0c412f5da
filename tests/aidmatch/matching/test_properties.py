"""For any small world, the aggregated solver's optimum equals networkx's min-cost max-flow on
the naive pledge × need graph with the same costs; its rows respect capacities and earmarks;
and the same input in any order gives byte-identical rows."""

import random
from dataclasses import replace
from datetime import date, datetime, timedelta

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from aidmatch.matching import (
    NeedArrays,
    NeedIn,
    PledgeArrays,
    PledgeIn,
    Proposal,
    check_rows,
    eligible,
    evaluate,
    insert_greedy,
    solve,
    weight,
)
from aidmatch.matching.model import STABILITY_BONUS, province_bands
from aidmatch.matching.types import expiry_micros

TODAY = date(2026, 6, 1)
SECTORS = ["edu", "food", "health"]
PROVINCES = ["AF01", "AF02", "AF03"]
ORGS = ["o1", "o2", "o3"]


@st.composite
def worlds(draw):
    n_needs = draw(st.integers(1, 6))
    needs = [
        NeedIn(
            id=f"n{i}",
            capacity=draw(st.integers(0, 60)),
            sector=draw(st.sampled_from(SECTORS)),
            province=draw(st.sampled_from(PROVINCES)),
            organization=draw(st.sampled_from(ORGS)),
            urgency=draw(st.integers(1, 5)),
            deadline=TODAY + timedelta(days=draw(st.integers(-5, 400))),
        )
        for i in range(n_needs)
    ]
    pledges = []
    for i in range(draw(st.integers(1, 7))):
        kind = draw(st.sampled_from(["any", "sec", "prov", "both", "org", "org+sec", "need"]))
        sectors = provinces = frozenset()
        org = need = None
        if kind in ("sec", "both", "org+sec"):
            sectors = frozenset(draw(st.sets(st.sampled_from([*SECTORS, "wash"]), min_size=1)))
        if kind in ("prov", "both"):
            provinces = frozenset(draw(st.sets(st.sampled_from(PROVINCES), min_size=1)))
        if kind in ("org", "org+sec"):
            org = draw(st.sampled_from([*ORGS, "o9"]))
        if kind == "need":
            need = draw(st.sampled_from([n.id for n in needs] + ["gone"]))
        expiry = draw(st.one_of(st.none(), st.integers(0, 3)))
        declined = frozenset(draw(st.sets(st.sampled_from([n.id for n in needs]), max_size=2)))
        pledges.append(
            PledgeIn(
                id=f"p{i}",
                capacity=draw(st.integers(0, 80)),
                sectors=sectors,
                provinces=provinces,
                organization=org,
                need=need,
                expires_at=None if expiry is None else datetime(2026, 7, 1) + timedelta(expiry),
                declined=declined,
            )
        )
    # Current proposals: a feasible earlier state (a greedy placement of some pledges).
    earlier = insert_greedy(
        pledges,
        needs,
        (),
        new_pledges=[p.id for p in pledges if draw(st.booleans())],
        today=TODAY - timedelta(days=draw(st.integers(0, 60))),
    )
    proposals = [Proposal(r.pledge, r.need, r.amount) for r in earlier.rows]
    if draw(st.booleans()):  # one that earmarks no longer admit: dropped
        proposals.append(Proposal(pledges[0].id, "nowhere", 5))
    return pledges, needs, proposals


def naive_optimum(pledges, needs, proposals, *, fairness, stability):
    """networkx min-cost max-flow on the full pledge × need graph, same costs."""
    graph = nx.DiGraph()
    live_needs = [n for n in needs if n.capacity > 0]
    live_pledges = [p for p in pledges if p.capacity > 0]
    for p in live_pledges:
        graph.add_edge("S", ("p", p.id), capacity=p.capacity, weight=0)
        for n in live_needs:
            if eligible(p, n):
                graph.add_edge(("p", p.id), ("n", n.id), weight=0)
    if stability:
        by_id = {p.id: p for p in live_pledges}
        needs_by_id = {n.id: n for n in live_needs}
        for pr in proposals:
            pledge, need = by_id.get(pr.pledge), needs_by_id.get(pr.need)
            if pledge is not None and need is not None and eligible(pledge, need):
                kept = ("k", pr.pledge, pr.need)
                graph.add_edge(("p", pr.pledge), kept, capacity=pr.amount, weight=-STABILITY_BONUS)
                graph.add_edge(kept, ("n", pr.need), capacity=pr.amount, weight=0)
    for n in live_needs:
        graph.add_edge(
            ("n", n.id), ("v", n.province), capacity=n.capacity, weight=-weight(n, TODAY)
        )
    bands = province_bands(live_needs, live_pledges)
    for prov, prov_bands in bands.items():
        if not fairness:
            prov_bands = [(sum(c for c, _ in prov_bands), 0)]
        for k, (cap, cost) in enumerate(prov_bands):
            graph.add_edge(("v", prov), ("b", prov, k), capacity=cap, weight=cost)
            graph.add_edge(("b", prov, k), "T", weight=0)
    if "S" not in graph or "T" not in graph:
        return 0, 0
    flow = nx.max_flow_min_cost(graph, "S", "T")
    funded = sum(flow["S"].values())
    return -nx.cost_of_flow(graph, flow), funded


@settings(max_examples=80, deadline=None)
@given(worlds(), st.booleans(), st.booleans())
def test_the_optimum_equals_networkx_on_the_naive_graph(world, fairness, stability):
    pledges, needs, proposals = world

    solution = solve(pledges, needs, proposals, today=TODAY, fairness=fairness, stability=stability)

    expected, max_flow = naive_optimum(
        pledges, needs, proposals, fairness=fairness, stability=stability
    )
    assert solution.objective == expected
    assert solution.funded == max_flow  # no money stranded
    assert check_rows(solution.rows, pledges, needs) == []
    again = evaluate(
        solution.rows,
        pledges,
        needs,
        proposals,
        today=TODAY,
        fairness=fairness,
        stability=stability,
    )
    assert again["objective"] == solution.objective
    assert [r.pledge for r in solution.rows] == sorted(r.pledge for r in solution.rows)
    assert len({(r.pledge, r.need) for r in solution.rows}) == len(solution.rows)


@settings(max_examples=40, deadline=None)
@given(worlds(), st.randoms(use_true_random=False))
def test_the_same_input_in_any_order_gives_identical_rows(world, rnd: random.Random):
    pledges, needs, proposals = world
    first = solve(pledges, needs, proposals, today=TODAY)
    rnd.shuffle(pledges)
    rnd.shuffle(needs)
    rnd.shuffle(proposals)

    second = solve(pledges, needs, proposals, today=TODAY)

    assert repr(second.rows) == repr(first.rows)
    assert [r.explanation for r in second.rows] == [r.explanation for r in first.rows]
    assert second.objective == first.objective
    # The columnar form gives the same rows, and holds the same pledges and needs.
    p_cols, n_cols = PledgeArrays.from_pledges(pledges), NeedArrays.from_needs(needs)

    def same_instant(p):  # naive datetimes come back as UTC
        return replace(p, expires_at=expiry_micros(p.expires_at))

    assert [same_instant(p_cols.pledge(i)) for i in range(len(p_cols))] == [
        same_instant(p) for p in pledges
    ]
    assert [n_cols.need(i) for i in range(len(n_cols))] == needs
    columns = solve(p_cols, n_cols, proposals, today=TODAY)
    assert repr(columns.rows) == repr(first.rows)
    assert [r.explanation for r in columns.rows] == [r.explanation for r in first.rows]


@settings(max_examples=40, deadline=None)
@given(worlds(), st.data())
def test_insert_greedy_keeps_every_proposal_and_respects_earmarks(world, data):
    pledges, needs, proposals = world
    proposals = [p for p in proposals if p.need != "nowhere"]
    new = data.draw(st.sets(st.sampled_from([p.id for p in pledges] + [n.id for n in needs])))

    solution = insert_greedy(
        pledges,
        needs,
        proposals,
        new_pledges=[i for i in new if i.startswith("p")],
        new_needs=[i for i in new if i.startswith("n")],
        today=TODAY,
    )

    assert check_rows(solution.rows, pledges, needs) == []
    amounts = {(r.pledge, r.need): r.amount for r in solution.rows}
    for pr in proposals:
        assert amounts[(pr.pledge, pr.need)] >= pr.amount
        assert next(
            r for r in solution.rows if (r.pledge, r.need) == (pr.pledge, pr.need)
        ).explanation["kept"]
