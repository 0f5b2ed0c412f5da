"""Matching benchmark: speed, memory, optimality, churn and fairness on synthetic worlds.

    .venv/bin/python bench/matching.py [--sizes 1000,10000,100000] [--seed N] [--highs-max N]
    .venv/bin/python bench/matching.py --quick      # 1k and 10k, HiGHS at 1k only (< 1 minute)

Each size also solves the plain aggregated min-cost flow (the same pledge classes, hubs and
cells; no fairness, no stability, no minimum; OR-Tools' max-flow-with-min-cost) on the same
world in the same process, and prints solve time / plain time (target ≤ 1.0× and under 3 s
at 100k). The solve runs with ``min_amount=100`` (1.00 USD, MATCHING_MIN_UNITS).

Each size runs in a fresh subprocess (peak memory is its ``ru_maxrss``, which counts
OR-Tools' C++ allocations); progress goes to stderr, the table to stdout. Nothing here
asserts a time: the figures are printed for people to read.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from aidmatch.matching import (  # noqa: E402
    NeedArrays,
    PledgeArrays,
    Proposal,
    check_rows,
    greedy_fill,
    solve,
)
from bench.worlds import extra_needs, extra_pledges, make_world  # noqa: E402

MIN = 100  # min_amount: MATCHING_MIN_UNITS' default, 1.00 USD


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PeakRss:
    """The largest RSS seen while the block runs (sampled every 5 ms), in MB."""

    def __enter__(self):
        self.peak, self._stop = rss_mb(), threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def plain_mcf(world_in) -> dict:
    """The baseline: the plain aggregated min-cost max-flow of the same world (prepare, build
    with the same classes, hubs and cells, no fairness, no stability; OR-Tools' flow)."""
    from ortools.graph.python import min_cost_flow

    from aidmatch.matching import graph as g
    from aidmatch.matching.world import prepare

    t0, c0 = time.perf_counter(), time.process_time()
    world = prepare(world_in.pledge_arrays, world_in.need_arrays, world_in.today)
    empty = (np.zeros(0, dtype=np.int64),) * 3
    graph = g.build(world, empty, fairness=False, stability=False, collapse=False)
    mcf = min_cost_flow.SimpleMinCostFlow()
    mcf.add_arcs_with_capacity_and_unit_cost(graph.tails, graph.heads, graph.caps, graph.costs)
    total = int(graph.class_supply.sum())
    nodes = np.r_[np.arange(graph.n_classes), graph.sink].astype(np.int32)
    mcf.set_nodes_supplies(nodes, np.r_[graph.class_supply, -total].astype(np.int64))
    if mcf.solve_max_flow_with_min_cost() != mcf.OPTIMAL:
        raise RuntimeError("plain min-cost flow failed")
    return {
        "plain_s": time.perf_counter() - t0,
        "plain_cpu_s": time.process_time() - c0,
        "plain_arcs": len(graph.tails),
        "plain_objective": -mcf.optimal_cost(),
    }


def moved_share(before, after) -> float:
    """Share of the proposed money no longer proposed on the same pledge → need pair."""
    new = {(r.pledge, r.need): r.amount for r in after.rows}
    moved = sum(max(0, r.amount - new.get((r.pledge, r.need), 0)) for r in before.rows)
    return moved / max(1, sum(r.amount for r in before.rows))


def coverage_cv(solution, na) -> float:
    index = {nid: i for i, nid in enumerate(na.ids)}
    province = np.asarray(na.province)
    need_by_prov = np.bincount(province, na.capacity, len(na.provinces))
    rows = [(index[r.need], r.amount) for r in solution.rows]
    funded = np.bincount(province[[i for i, _ in rows]], [a for _, a in rows], len(na.provinces))
    live = need_by_prov > 0
    cov = funded[live] / need_by_prov[live]
    return float(cov.std() / cov.mean()) if cov.mean() > 0 else 0.0


def highs_objective(world_in, today) -> dict:
    """The same aggregated LP (fairness on, no proposals), solved by HiGHS in two phases:
    the maximum flow, then the cheapest flow of that value. Returns its objective, the
    integer objective recomputed from its rounded flows, and the seconds taken."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix, csr_matrix, vstack

    from aidmatch.matching import graph as g
    from aidmatch.matching.world import current_proposals, prepare

    world = prepare(world_in.pledge_arrays, world_in.need_arrays, today)
    graph = g.build(world, current_proposals(world, ())[:3], fairness=True, stability=True)
    m = len(graph.tails)
    tails, heads = graph.tails.astype(np.int64), graph.heads.astype(np.int64)
    inc = coo_matrix(
        (np.r_[np.ones(m), -np.ones(m)], (np.r_[heads, tails], np.r_[np.arange(m), np.arange(m)])),
        shape=(graph.n_nodes, m),
    ).tocsr()
    transit = np.arange(graph.n_classes, graph.sink)
    a_eq = inc[transit]
    a_eq = a_eq[np.diff(a_eq.indptr) > 0]
    a_cls = -inc[: graph.n_classes]  # outflow of each class ≤ its supply
    into_sink = (graph.kinds == g.PROVINCE_SINK).astype(float)
    bounds = np.c_[np.zeros(m), graph.caps.astype(float)]
    t0 = time.perf_counter()
    p1 = linprog(
        -into_sink,
        A_ub=a_cls,
        b_ub=graph.class_supply.astype(float),
        A_eq=a_eq,
        b_eq=np.zeros(a_eq.shape[0]),
        bounds=bounds,
        method="highs",
    )
    max_flow = round(-p1.fun)
    a_ub = vstack([a_cls, csr_matrix(-into_sink)])
    p2 = linprog(
        graph.costs.astype(float),
        A_ub=a_ub,
        b_ub=np.r_[graph.class_supply.astype(float), -(max_flow - 0.5)],
        A_eq=a_eq,
        b_eq=np.zeros(a_eq.shape[0]),
        bounds=bounds,
        method="highs",
    )
    seconds = time.perf_counter() - t0
    x = np.rint(p2.x).astype(np.int64)
    integral = bool(np.abs(p2.x - x).max() < 1e-6)
    return {
        "highs_status": p2.status,
        "highs_objective": -p2.fun,
        "highs_objective_int": -int(np.dot(x, graph.costs)),
        "highs_integral": integral,
        "highs_max_flow": max_flow,
        "highs_seconds": seconds,
    }


def run_one(n: int, seed: int, highs: bool) -> dict:
    out: dict = {"size": n}
    log(f"{n}: generating the world")
    world = make_world(n, n, seed)
    pa, na = world.pledge_arrays, world.need_arrays
    out["world_mb"] = rss_mb()
    out["load_before"] = load()
    log(f"{n}: solving (rss {out['world_mb']:.0f} MB, load {out['load_before']})")
    with PeakRss() as peak:
        c0, t0 = time.process_time(), time.perf_counter()
        base = solve(pa, na, today=world.today, min_amount=MIN)
        out["solve_s"] = time.perf_counter() - t0
        out["solve_cpu_s"] = time.process_time() - c0
    out["solve_peak_mb"] = peak.peak
    out["peak_mb"] = maxrss_mb()
    log(f"{n}: the plain aggregated min-cost flow (load {load()})")
    out.update(plain_mcf(world))
    out["ratio"] = out["solve_s"] / out["plain_s"]
    out["cpu_ratio"] = out["solve_cpu_s"] / out["plain_cpu_s"]
    out["stats"] = base.stats
    out["objective"] = base.objective
    out["funded"] = base.funded
    out["pool"] = int(pa.capacity.sum())
    out["needs_total"] = int(na.capacity.sum())
    out["rows_below_min"] = sum(r.amount < MIN for r in base.rows)
    proposals = [Proposal(r.pledge, r.need, r.amount) for r in base.rows]

    log(f"{n}: re-solve with the proposals (nothing new)")
    t0 = time.perf_counter()
    same = solve(pa, na, proposals, today=world.today, min_amount=MIN)
    out["resolve_stats"] = same.stats
    out["resolve_s"] = time.perf_counter() - t0
    out["churn_same"] = moved_share(base, same)

    log(f"{n}: no fairness; greedy fill")
    nofair = solve(pa, na, today=world.today, fairness=False)
    out["cv_fair"] = coverage_cv(base, na)
    out["cv_nofair"] = coverage_cv(nofair, na)
    t0 = time.perf_counter()
    greedy = greedy_fill(pa, na, today=world.today)
    out["greedy_s"] = time.perf_counter() - t0
    out["greedy_loss"] = 1 - greedy.stats["weighted"] / nofair.stats["weighted"]
    out["greedy_unfunded"] = 1 - greedy.funded / nofair.funded

    for label, pledges, needs in (
        ("+1 pledge", pa.concat(PledgeArrays.from_pledges(extra_pledges(world, 1, seed + 1))), na),
        (
            "+1000 pledges",
            pa.concat(PledgeArrays.from_pledges(extra_pledges(world, 1000, seed + 2))),
            na,
        ),
        ("+1000 needs", pa, na.concat(NeedArrays.from_needs(extra_needs(world, 1000, seed + 3)))),
    ):
        log(f"{n}: churn after {label}")
        t0 = time.perf_counter()
        stable = solve(pledges, needs, proposals, today=world.today, min_amount=MIN)
        secs = time.perf_counter() - t0
        plain = solve(pledges, needs, today=world.today, stability=False)
        out[f"churn {label}"] = moved_share(base, stable)
        out[f"plain {label}"] = moved_share(base, plain)
        out[f"resolve_s {label}"] = secs

    log(f"{n}: checking the rows against capacities and earmarks")
    out["row_problems"] = len(check_rows(base.rows, world.pledges, world.needs))
    if highs:
        log(f"{n}: HiGHS on the same aggregated LP")
        out.update(highs_objective(world, world.today))
        pure = out["objective"] + out["stats"].get("minimum_objective_cost", 0)
        out["optimum"] = pure
        out["highs_gap"] = (pure - out["highs_objective"]) / abs(pure)
    out["load_after"] = load()
    log(f"{n}: done (load {out['load_after']})")
    return out


def table(results: list[dict]) -> str:
    lines = []

    def row(*cells):
        lines.append(" | ".join(str(c) for c in cells))

    row("pledges×needs", *(f"{r['size']:,}×{r['size']:,}" for r in results))
    row(
        "graph nodes / arcs",
        *(f"{r['stats']['nodes']:,} / {r['stats']['arcs']:,}" for r in results),
    )
    row("pledge classes", *(f"{r['stats']['classes']:,}" for r in results))
    row("solve s (cpu s)", *(f"{r['solve_s']:.2f} ({r['solve_cpu_s']:.2f})" for r in results))
    row(
        "  build / flow / split s",
        *(
            f"{r['stats']['seconds_build']:.2f} / {r['stats']['seconds_flow']:.2f} / "
            f"{r['stats']['seconds_split']:.2f}"
            for r in results
        ),
    )
    row(
        "plain aggregated MCF s (cpu s; arcs)",
        *(f"{r['plain_s']:.2f} ({r['plain_cpu_s']:.2f}; {r['plain_arcs']:,})" for r in results),
    )
    row(
        "solve / plain MCF (cpu) (target ≤ 1.0)",
        *(f"{r['ratio']:.2f}× ({r['cpu_ratio']:.2f}×)" for r in results),
    )
    row("re-solve with proposals s", *(f"{r['resolve_s']:.2f}" for r in results))
    row(
        "RSS MB: world / solve increment / peak",
        *(
            f"{r['world_mb']:.0f} / {r['solve_peak_mb'] - r['world_mb']:.0f} / {r['peak_mb']:.0f}"
            for r in results
        ),
    )
    row(
        f"min {MIN}: rows dropped / unplaced / obj. cost",
        *(
            f"{r['stats']['minimum_rows_dropped']} / {r['stats']['minimum_amount_unplaced']} / "
            f"{r['stats']['minimum_objective_cost'] / r['objective']:.1e}"
            for r in results
        ),
    )
    row(
        "  re-solve: rows dropped / unplaced",
        *(
            f"{r['resolve_stats']['minimum_rows_dropped']} / "
            f"{r['resolve_stats']['minimum_amount_unplaced']}"
            for r in results
        ),
    )
    row(f"rows below {MIN} proposed", *(r["rows_below_min"] for r in results))
    row("objective", *(f"{r['objective']:,}" for r in results))
    row("funded / pool / needs", *(
        f"{r['funded'] / r['pool']:.1%} of pool, {r['funded'] / r['needs_total']:.1%} of needs"
        for r in results
    ))  # fmt: skip
    row(
        "gap to HiGHS (s)",
        *(
            f"{r['highs_gap']:.6%} int {'=' if r['highs_objective_int'] == r['optimum'] else '≠'}"
            f" ({r['highs_seconds']:.1f})"
            if "highs_gap" in r
            else "not run"
            for r in results
        ),
    )
    row("greedy fill: weighted loss", *(f"{r['greedy_loss']:.3%}" for r in results))
    row("greedy fill: unfunded", *(f"{r['greedy_unfunded']:.3%}" for r in results))
    row("churn, re-run, nothing new", *(f"{r['churn_same']:.3%}" for r in results))
    for label in ("+1 pledge", "+1000 pledges", "+1000 needs"):
        row(
            f"churn {label} (plain re-solve)",
            *(f"{r[f'churn {label}']:.3%} ({r[f'plain {label}']:.1%})" for r in results),
        )
    row("province coverage CV fair / not", *(
        f"{r['cv_fair']:.3f} / {r['cv_nofair']:.3f}" for r in results
    ))  # fmt: skip
    row("rows breaking a rule", *(r["row_problems"] for r in results))
    row(
        "load average before / after", *(f"{r['load_before']} / {r['load_after']}" for r in results)
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--highs-max", type=int, default=100000, help="largest size for HiGHS")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--highs", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="1k and 10k, HiGHS at 1k only")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.highs_max = "1000,10000", 1000
    if args.one:
        print(json.dumps(run_one(args.one, args.seed, args.highs), default=str))
        return
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        cmd = [sys.executable, __file__, "--one", str(size), "--seed", str(args.seed)]
        if size <= args.highs_max:
            cmd.append("--highs")
        done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(table(results))


if __name__ == "__main__":
    main()
