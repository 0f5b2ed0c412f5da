"""The exact solve: an integer min-cost flow on the aggregated graph (OR-Tools, array API)."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date

import numpy as np
import ortools
from ortools.graph.python import min_cost_flow

from aidmatch.matching import graph as g
from aidmatch.matching.model import (
    INT64_MAX,
    MAX_UNIT_COST,
    NEED,
    ORGANIZATION,
    SECTOR_PROVINCE,
    STABILITY_BONUS,
    UNRESTRICTED,
    fairness_bands,
    fairness_penalty,
    rule_text,
)
from aidmatch.matching.types import (
    NeedArrays,
    NeedIn,
    PledgeArrays,
    PledgeIn,
    Proposal,
    Row,
    Solution,
)
from aidmatch.matching.world import World, admitted_by, current_proposals, prepare

MODEL_REVISION = "aidmatch-mcf/1"
VERSION = f"{MODEL_REVISION} ortools-{ortools.__version__}"


def check_int64(total_supply: int, n_nodes: int) -> None:
    """Refuse pools whose costs could overflow int64 (see the model's docstring)."""
    if total_supply * MAX_UNIT_COST > INT64_MAX:
        raise OverflowError(
            f"pool capacity {total_supply} × max unit cost {MAX_UNIT_COST} exceeds int64"
        )
    if 2 * (n_nodes + 3) * MAX_UNIT_COST > INT64_MAX:
        raise OverflowError(f"{n_nodes} nodes: OR-Tools' cost scaling would overflow int64")


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a solve allocates ~10^5 acyclic objects (class
    keys, rows, explanations), and each collection it triggers would scan them all for
    nothing (about half of the time spent building rows at 100k)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@gc_paused()
def solve(
    pledges: Iterable[PledgeIn] | PledgeArrays,
    needs: Iterable[NeedIn] | NeedArrays,
    proposals: Iterable[Proposal] = (),
    *,
    today: date,
    fairness: bool = True,
    stability: bool = True,
    min_amount: int = 0,
) -> Solution:
    """The optimal complete set of proposals (see ``aidmatch.matching.model`` for the model).

    Pledges and needs come as iterables of ``PledgeIn``/``NeedIn`` or as columns
    (``PledgeArrays``/``NeedArrays``, the compact form). Pledges and needs with no capacity
    are ignored; current proposals that are unknown, ineligible or over capacity are dropped
    (counted in ``stats["proposals_dropped"]``).

    ``min_amount`` (pool minor units): no row below it is proposed, not even one that would
    take a pledge's or a need's last units. The optimum flow is split over the pledges, the
    rows below the minimum are dropped, and their money tops up the pledge's other rows or
    other pledges' rows to the same needs where there is room (``_apply_minimum``); what
    the minimum costs against the pure optimum is in ``stats`` (``minimum_*``). ``objective``,
    ``funded`` and ``weighted`` always describe the returned rows exactly.
    """
    t0 = time.perf_counter()
    world = prepare(pledges, needs, today)
    props = current_proposals(world, proposals)
    stats: dict = {
        "pledges": len(world.pledge_ids),
        "needs": len(world.need_ids),
        "ignored_pledges": world.ignored_pledges,
        "ignored_needs": world.ignored_needs,
        "proposals_dropped": props[3],
        "fairness": fairness,
        "stability": stability,
    }
    graph = g.build(world, props[:3], fairness=fairness, stability=stability)
    check_int64(int(graph.class_supply.sum()), graph.n_nodes)
    t1 = time.perf_counter()
    stats.update(
        nodes=graph.n_nodes,
        arcs=len(graph.tails),
        classes=graph.n_classes,
        cells=graph.n_cells,
        organization_nodes=graph.n_orgs,
        kept_arcs=int((graph.kinds == g.KEPT).sum()),
    )
    flows = _min_cost_max_flow(graph)
    t2 = time.perf_counter()

    generic = g.decompose(graph, flows)
    p_idx, n_idx, amounts, kept = g.split_to_pledges(world, graph, generic, flows)
    optimum = -int(np.dot(flows, graph.costs))
    if min_amount > 0:
        p_idx, n_idx, amounts, kept, minimum = _apply_minimum(
            world, p_idx, n_idx, amounts, kept, min_amount
        )
        stats.update(minimum)
    rows = _rows(
        world, p_idx, n_idx, amounts, kept, rule_text(fairness=fairness, stability=stability)
    )
    t3 = time.perf_counter()

    objective, weighted = objective_of(
        world, n_idx, amounts, kept, fairness=fairness, stability=stability
    )
    if min_amount > 0:
        stats.update(minimum_objective_cost=optimum - objective)
    elif objective != optimum:
        raise AssertionError(f"rows score {objective}, the flow {optimum}")
    stats.update(
        min_amount=min_amount,
        weighted=weighted,
        kept_amount=int(kept.sum()),
        rows=len(rows),
        seconds_build=round(t1 - t0, 4),
        seconds_flow=round(t2 - t1, 4),
        seconds_split=round(t3 - t2, 4),
        seconds=round(t3 - t0, 4),
    )
    return Solution(
        rows=rows,
        objective=objective,
        funded=int(amounts.sum()),
        solver="ortools-mcf",
        version=VERSION,
        stats=stats,
    )


def objective_of(
    world: World,
    n_idx: np.ndarray,
    amounts: np.ndarray,
    kept: np.ndarray,
    *,
    fairness: bool,
    stability: bool,
) -> tuple[int, int]:
    """The model's exact objective of rows (need idx, amount, kept amount), and Σ weight ×
    amount: what ``model.evaluate`` computes, on the world's arrays."""
    weighted = int(np.dot(amounts, world.need_weight[n_idx])) if len(amounts) else 0
    objective = weighted + (STABILITY_BONUS * int(kept.sum()) if stability else 0)
    if fairness:
        n_prov = len(world.provinces)
        funded = np.bincount(world.need_province[n_idx], amounts, n_prov).astype(np.int64)
        prov_need = np.bincount(world.need_province, world.need_cap, n_prov).astype(np.int64)
        total_supply, total_need = int(world.pledge_cap.sum()), int(prov_need.sum())
        for i in range(n_prov):
            bands = fairness_bands(int(prov_need[i]), total_supply, total_need)
            objective -= fairness_penalty(int(funded[i]), bands)
    return objective, weighted


def _apply_minimum(
    world: World,
    p_idx: np.ndarray,
    n_idx: np.ndarray,
    amounts: np.ndarray,
    kept: np.ndarray,
    min_amount: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
    """Drop the rows below ``min_amount`` and place their money again where it adds to a row
    that stays (the same pledge's other needs, or other pledges' rows to the same needs),
    needs by weight first, then (rank, id), pledges soonest-expiring first. Rows that stay
    are never below the minimum; money that finds no such row stays unplaced."""
    small = amounts < min_amount
    dropped_rows, dropped = int(small.sum()), int(amounts[small].sum())
    keep = ~small
    p_idx, n_idx, amounts, kept = p_idx[keep], n_idx[keep], amounts[keep].copy(), kept[keep]
    spare = world.pledge_cap - np.bincount(p_idx, amounts, len(world.pledge_ids)).astype(np.int64)
    room = world.need_cap - np.bincount(n_idx, amounts, len(world.need_ids)).astype(np.int64)
    cand = np.flatnonzero((spare[p_idx] > 0) & (room[n_idx] > 0))
    cand = cand[
        np.lexsort((world.pledge_rank[p_idx[cand]], n_idx[cand], -world.need_weight[n_idx[cand]]))
    ]
    placed = 0
    for i, p, n in zip(cand.tolist(), p_idx[cand].tolist(), n_idx[cand].tolist(), strict=True):
        take = min(int(spare[p]), int(room[n]))
        if take > 0:
            amounts[i] += take
            spare[p] -= take
            room[n] -= take
            placed += take
    stats = {
        "minimum_rows_dropped": dropped_rows,
        "minimum_amount_dropped": dropped,
        "minimum_amount_placed_again": placed,
        "minimum_amount_unplaced": dropped - placed,
    }
    return p_idx, n_idx, amounts, kept, stats


def _min_cost_max_flow(graph: g.Graph) -> np.ndarray:
    if len(graph.tails) == 0 or not graph.class_supply.any():
        return np.zeros(len(graph.tails), dtype=np.int64)
    mcf = min_cost_flow.SimpleMinCostFlow()
    # Every unit cost is a multiple of 10 (or more): dividing by their greatest common divisor
    # gives the same optimal flows with fewer cost-scaling rounds (about 13% faster at 100k).
    divisor = max(int(np.gcd.reduce(graph.costs)), 1) if len(graph.costs) else 1
    costs = graph.costs // divisor if divisor > 1 else graph.costs
    mcf.add_arcs_with_capacity_and_unit_cost(graph.tails, graph.heads, graph.caps, costs)
    total = int(graph.class_supply.sum())
    nodes = np.r_[np.arange(graph.n_classes), graph.sink].astype(np.int32)
    mcf.set_nodes_supplies(nodes, np.r_[graph.class_supply, -total].astype(np.int64))
    # A maximum flow first, then the cheapest among maximum flows: no money is stranded.
    status = mcf.solve_max_flow_with_min_cost()
    if status != mcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status}")
    return np.asarray(mcf.flows(np.arange(len(graph.tails), dtype=np.int32)), dtype=np.int64)


def _rows(
    world: World,
    p_idx: np.ndarray,
    n_idx: np.ndarray,
    amounts: np.ndarray,
    kept: np.ndarray,
    rule: str,
) -> tuple[Row, ...]:
    # Per class and per need once, then one explanation dict per distinct (earmark kind,
    # urgency, deadline, weight, kept) (the same fields as ``model.explanation``, shared and
    # read-only); rows sorted by (pledge id, need id).
    pledge_ids, need_ids = world.pledge_ids, world.need_ids
    if len(p_idx):
        order = np.lexsort((_id_order(need_ids)[n_idx], _id_order(pledge_ids)[p_idx]))
        p_idx, n_idx, amounts, kept = p_idx[order], n_idx[order], amounts[order], kept[order]
    kinds = [NEED, ORGANIZATION, SECTOR_PROVINCE, UNRESTRICTED]
    kind_of_class = np.asarray([kinds.index(admitted_by(k)) for k in world.classes], np.int64)
    kind = kind_of_class[world.pledge_class[p_idx]] if len(p_idx) else p_idx
    code = (n_idx * len(kinds) + kind) * 2 + (kept > 0)
    _, first, inv = np.unique(code, return_index=True, return_inverse=True)
    urgency = world.need_urgency.tolist()
    ordinals = world.need_deadline.tolist()
    iso = {d: date.fromordinal(d).isoformat() for d in set(ordinals)}  # a few hundred dates
    w = world.need_weight.tolist()
    explanations, alike = [], {}  # needs that read alike share one dict (7k, not 77k, at 100k)
    for n, k, kept_any in zip(
        n_idx[first].tolist(), kind[first].tolist(), (kept[first] > 0).tolist(), strict=True
    ):
        key = (k, urgency[n], ordinals[n], w[n], kept_any)
        shown = alike.get(key)
        if shown is None:
            shown = alike[key] = {
                "admitted_by": kinds[k],
                "urgency": urgency[n],
                "deadline": iso[ordinals[n]],
                "weight": w[n],
                "rule": rule,
                "kept": kept_any,
            }
        explanations.append(shown)
    return tuple(
        map(
            Row,
            map(pledge_ids.__getitem__, p_idx.tolist()),
            map(need_ids.__getitem__, n_idx.tolist()),
            amounts.tolist(),
            map(explanations.__getitem__, inv.tolist()),
        )
    )


def _id_order(ids: list[str]) -> np.ndarray:
    """Each item's position when sorted by id."""
    out = np.empty(len(ids), dtype=np.int64)
    out[sorted(range(len(ids)), key=ids.__getitem__)] = np.arange(len(ids))
    return out
