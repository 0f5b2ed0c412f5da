"""Greedy paths: the fast incremental insert, and a from-scratch greedy fill (a baseline).

``insert_greedy`` keeps every current proposal and places only the new pledges' capacity
(most urgent need first, then the nearest deadline, then (rank, id)), or fills only the new needs
(most urgent first) from the pledges' unused capacity (soonest-expiring pledge first). Each
new item costs a few vectorised passes over the needs or the pledges.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date

import numpy as np

from aidmatch.matching import graph as g
from aidmatch.matching.model import rule_text
from aidmatch.matching.solver import _rows, gc_paused, objective_of
from aidmatch.matching.types import NeedArrays, NeedIn, PledgeArrays, PledgeIn, Proposal, Solution
from aidmatch.matching.world import World, admit_tables, admits_mask, current_proposals, prepare

GREEDY_VERSION = "aidmatch-greedy/1"


def _fill(candidates: np.ndarray, room: np.ndarray, amount: int, min_amount: int) -> np.ndarray:
    """Take from ``room[candidates]`` in order until ``amount`` is placed; the takes. No take
    is below ``min_amount``: candidates with less room are skipped, and a last take that
    would be smaller is not made."""
    avail = room[candidates]
    avail = np.where(avail >= max(min_amount, 1), avail, 0)
    before = np.cumsum(avail) - avail
    take = np.clip(amount - before, 0, avail)
    return np.where(take >= min_amount, take, 0)


@gc_paused()
def insert_greedy(
    pledges: Iterable[PledgeIn] | PledgeArrays,
    needs: Iterable[NeedIn] | NeedArrays,
    proposals: Iterable[Proposal],
    *,
    new_pledges: Iterable[str] = (),
    new_needs: Iterable[str] = (),
    today: date,
    min_amount: int = 0,
) -> Solution:
    """Current proposals plus greedy rows for the new pledges and needs (the complete set).

    Ties break as in ``solve`` (on rank, then id); no new row is below ``min_amount`` (the
    current proposals are kept as they are)."""
    t0 = time.perf_counter()
    world = prepare(pledges, needs, today)
    kp, kn, ka, dropped = current_proposals(world, proposals)
    pledge_room = world.pledge_cap.copy()
    need_room = world.need_cap.copy()
    np.subtract.at(pledge_room, kp, ka)
    np.subtract.at(need_room, kn, ka)
    new_p: list[np.ndarray] = [kp]
    new_n: list[np.ndarray] = [kn]
    new_a: list[np.ndarray] = [ka]

    n_ids = sorted({world.pledge_index[i] for i in new_pledges if i in world.pledge_index})
    n_needs = len(world.need_ids)
    need_order_key = (-world.need_weight, np.arange(n_needs))
    for p in sorted(n_ids, key=lambda i: world.pledge_rank[i]):
        key = world.classes[world.pledge_class[p]]
        mask = (need_room > 0) & admits_mask(world, key)
        cand = np.flatnonzero(mask)
        cand = cand[np.lexsort((need_order_key[1][cand], need_order_key[0][cand]))]
        take = _fill(cand, need_room, int(pledge_room[p]), min_amount)
        sel = take > 0
        need_room[cand[sel]] -= take[sel]
        pledge_room[p] -= int(take.sum())
        new_p.append(np.full(int(sel.sum()), p, dtype=np.int64))
        new_n.append(cand[sel])
        new_a.append(take[sel])

    m_ids = [world.need_index[i] for i in set(new_needs) if i in world.need_index]
    if m_ids:
        t = admit_tables(world)
        sec_ok, prov_ok, c_org, c_need = t.sector_ok, t.province_ok, t.org, t.need
        declined_by = t.declined_by
        pc = world.pledge_class
        by_rank = np.argsort(world.pledge_rank)
        for n in sorted(m_ids, key=lambda i: (-world.need_weight[i], i)):
            o = world.need_org[n]
            ok = (
                sec_ok[:, world.need_sector[n]]
                & prov_ok[:, world.need_province[n]]
                & ((c_org == -1) | (c_org == o))
                & ((c_need == -1) | (c_need == n))
            )
            ok[declined_by.get(n, [])] = False
            mask = (pledge_room > 0) & ok[pc]
            cand = by_rank[mask[by_rank]]
            take = _fill(cand, pledge_room, int(need_room[n]), min_amount)
            sel = take > 0
            pledge_room[cand[sel]] -= take[sel]
            need_room[n] -= int(take.sum())
            new_p.append(cand[sel])
            new_n.append(np.full(int(sel.sum()), n, dtype=np.int64))
            new_a.append(take[sel])

    kept_key = kp * n_needs + kn
    rule = rule_text(fairness=False, stability=True, greedy=True)
    solution = _finish(world, new_p, new_n, new_a, kept_key, ka, "greedy-insert", rule, t0)
    solution.stats.update(proposals_dropped=dropped, new_pledges=len(n_ids), new_needs=len(m_ids))
    return solution


@gc_paused()
def greedy_fill(
    pledges: Iterable[PledgeIn] | PledgeArrays, needs: Iterable[NeedIn] | NeedArrays, *, today: date
) -> Solution:
    """A from-scratch greedy baseline: needs by weight (then rank, id), each filled from the pledge
    classes that admit it, soonest-expiring class first; no fairness, no stability."""
    t0 = time.perf_counter()
    world = prepare(pledges, needs, today)
    empty = (np.zeros(0, dtype=np.int64),) * 3
    graph = g.build(world, empty, fairness=False, stability=False, collapse=False)
    class_room = graph.class_supply.copy()
    class_first = np.full(graph.n_classes, np.iinfo(np.int64).max)
    np.minimum.at(class_first, graph.pledge_class, world.pledge_rank)

    # Candidate classes per need: those earmarked to it, to its organization, to its cell,
    # then via its sector hub and province hub; soonest-expiring class first in each list.
    into = {}  # node → [classes sending to it, index of the first one not yet exhausted]
    sel = np.flatnonzero(
        (graph.kinds == g.CLASS_CELL)
        | (graph.kinds == g.CLASS_ORG)
        | (graph.kinds == g.CLASS_NEED)
        | (graph.kinds == g.CLASS_HUB)
    )
    arc_c = graph.arc_class[sel]
    order = sel[np.lexsort((arc_c, class_first[arc_c], graph.heads[sel]))]
    heads = graph.heads[order]
    bounds = np.r_[0, np.flatnonzero(heads[1:] != heads[:-1]) + 1, len(heads)]
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        into[int(heads[a])] = [graph.arc_class[order[a:b]].tolist(), 0]
    parents: dict[int, list[int]] = {}  # node → the nodes feeding it (cells: hubs)
    sel = np.flatnonzero(
        (graph.kinds == g.CELL_NEED) | (graph.kinds == g.ORG_NEED) | (graph.kinds == g.HUB_CELL)
    )
    for t, h in zip(graph.tails[sel].tolist(), graph.heads[sel].tolist(), strict=True):
        parents.setdefault(h, []).append(t)
    kind_rank = {g.ORG_NEED: 0, g.CELL_NEED: 1}
    sources: dict[int, list[int]] = {}
    for node, feeding in parents.items():
        if node >= graph.need_node0:
            ordered = [node]
            for t in sorted(feeding, key=lambda t: kind_rank[int(_kind_of(graph, t, node))]):
                ordered.append(t)
                ordered.extend(sorted(parents.get(t, [])))  # a cell's sector hub, province hub
            sources[node] = ordered

    out_c, out_n, out_a = [], [], []
    room = class_room.tolist()
    for n in sorted(range(len(world.need_ids)), key=lambda i: (-world.need_weight[i], i)):
        left = int(world.need_cap[n])
        node = graph.need_node0 + n
        for src in sources.get(node, [node]):
            entry = into.get(src)
            if entry is None:
                continue
            classes, ptr = entry
            i = ptr
            while left and i < len(classes):
                c = classes[i]
                if room[c] == 0:
                    if i == entry[1]:
                        entry[1] += 1  # exhausted classes stay exhausted: skip them for good
                    i += 1
                    continue
                take = min(room[c], left)
                room[c] -= take
                left -= take
                out_c.append(c)
                out_n.append(n)
                out_a.append(take)
                if room[c]:
                    break
                i += 1
            if not left:
                break
    generic = (
        np.asarray(out_c, dtype=np.int64),
        np.asarray(out_n, dtype=np.int64),
        np.asarray(out_a, dtype=np.int64),
    )
    p_idx, n_idx, amounts, _ = g.split_to_pledges(world, graph, generic, np.zeros(0, np.int64))
    none = np.zeros(0, dtype=np.int64)
    rule = "greedy fill: urgency first, then deadline nearness"
    return _finish(world, [p_idx], [n_idx], [amounts], none, none, "greedy-fill", rule, t0)


def _kind_of(graph: g.Graph, tail: int, head: int) -> int:
    """The kind of the arc tail → head into a need (an organization node or a cell)."""
    return g.ORG_NEED if tail >= graph.need_node0 - graph.n_orgs else g.CELL_NEED


def _finish(
    world: World,
    ps: list[np.ndarray],
    ns: list[np.ndarray],
    amounts: list[np.ndarray],
    kept_key: np.ndarray,
    kept_amount: np.ndarray,
    solver: str,
    rule: str,
    t0: float,
) -> Solution:
    n_needs = max(len(world.need_ids), 1)
    p, n, a = np.concatenate(ps), np.concatenate(ns), np.concatenate(amounts)
    key = p * n_needs + n
    order = np.argsort(key, kind="stable")
    key, a = key[order], a[order]
    if len(key):
        first = np.r_[0, np.flatnonzero(key[1:] != key[:-1]) + 1]
        key, a = key[first], np.add.reduceat(a, first)
    kept = np.zeros(len(key), dtype=np.int64)
    if len(kept_key):
        pos = np.searchsorted(key, kept_key)
        kept[pos] = np.minimum(kept_amount, a[pos])
    p, n = key // n_needs, key % n_needs
    rows = _rows(world, p, n, a, kept, rule)
    # The solver's objective for the same rows (fairness and stability on), for comparison.
    objective, weighted = objective_of(world, n, a, kept, fairness=True, stability=True)
    seconds = time.perf_counter() - t0
    return Solution(
        rows=rows,
        objective=objective,
        funded=int(a.sum()),
        solver=solver,
        version=GREEDY_VERSION,
        stats={
            "pledges": len(world.pledge_ids),
            "needs": len(world.need_ids),
            "weighted": weighted,
            "kept_amount": int(kept.sum()),
            "rows": len(rows),
            "seconds": round(seconds, 4),
        },
    )
