"""The matching model: eligibility (earmarks), need weights, the fairness bands, the stability
bonus, row explanations, and an exact evaluator of any set of rows under the same objective.

Integer cost scale (per minor unit of money placed; the solver minimises the negation):

=====================  ===========================================================
``URGENCY_STEP``       100_000 per urgency level: ``weight = urgency × 100_000 + …``
``DEADLINE_PER_DAY``   100 per day nearer than ``DEADLINE_HORIZON_DAYS`` (365), so the
                       deadline term is at most ``DEADLINE_MAX`` = 36_500; overdue needs
                       count as due today
``FAIRNESS_MAX``       30_000: the steepest marginal fairness penalty (the top band)
``STABILITY_BONUS``    3_000 per unit kept on a current proposal (≈ 30 days of deadline)
=====================  ===========================================================

``DEADLINE_MAX + FAIRNESS_MAX + STABILITY_BONUS`` = 69_500 < ``URGENCY_STEP``: moving a unit
from an urgency-4 need to an urgency-5 need always lowers the cost, whatever the deadlines,
the provinces' coverage or the proposals (a chain of up to ten kept proposals may be undone
for it). Money is never stranded by the penalty or the bonus: the solver computes a
*maximum* flow first and the cheapest among maximum flows (OR-Tools' max-flow-with-min-cost),
and the smallest weight (urgency 1, far deadline: 100_000) exceeds the largest penalty anyway.

Fairness: ``t = min(1, Σ pledge capacity / Σ need capacity)`` is the average coverage the
pool can reach. A province's coverage ``c = funded / need`` pays a marginal penalty of
``k × FAIRNESS_MAX / 5`` in band ``k`` of ``[0, .5t) [.5t, .75t) [.75t, t) [t, 1.25t)
[1.25t, 1.5t) [1.5t, 1]``: piecewise linear and convex, so under-covered provinces are served
first among needs of the same urgency.

Limits (int64): every unit cost is at most ``MAX_UNIT_COST`` (< 600_000) in magnitude. The
solver refuses (``OverflowError``) a pool whose total capacity × ``MAX_UNIT_COST`` would not
fit in 2**63 (about 1.5e13 minor units: 150 billion in a 2-decimal currency), and graphs whose
node count × ``MAX_UNIT_COST`` would overflow OR-Tools' internal cost scaling (never below
billions of nodes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from aidmatch.matching.types import NeedIn, PledgeIn, Proposal, Row

URGENCY_STEP = 10_000
DEADLINE_HORIZON_DAYS = 365
DEADLINE_PER_DAY = 10
DEADLINE_MAX = DEADLINE_HORIZON_DAYS * DEADLINE_PER_DAY
FAIRNESS_MAX = 3_000
FAIRNESS_BANDS = ((0, 1), (1, 2), (3, 4), (1, 1), (5, 4), (3, 2))  # band k starts at (a/b)·t
STABILITY_BONUS = 300
MAX_URGENCY = 5
MAX_UNIT_COST = MAX_URGENCY * URGENCY_STEP + DEADLINE_MAX + FAIRNESS_MAX + STABILITY_BONUS
INT64_MAX = 2**63 - 1

assert DEADLINE_MAX + FAIRNESS_MAX + STABILITY_BONUS < URGENCY_STEP

UNRESTRICTED = "unrestricted"
SECTOR_PROVINCE = "sector+province earmark"
ORGANIZATION = "organization earmark"
NEED = "need earmark"


def weight(need: NeedIn, today: date) -> int:
    """Urgency dominates; within one urgency step, a nearer deadline weighs more."""
    if not 1 <= need.urgency <= MAX_URGENCY:
        raise ValueError(f"need {need.id}: urgency {need.urgency} is outside 1..{MAX_URGENCY}")
    days = min(max((need.deadline - today).days, 0), DEADLINE_HORIZON_DAYS)
    return need.urgency * URGENCY_STEP + (DEADLINE_HORIZON_DAYS - days) * DEADLINE_PER_DAY


def eligible(pledge: PledgeIn, need: NeedIn) -> bool:
    """Whether the pledge's earmarks admit the need (and its donor has not declined it)."""
    return (
        (not pledge.sectors or need.sector in pledge.sectors)
        and (not pledge.provinces or need.province in pledge.provinces)
        and (pledge.organization is None or pledge.organization == need.organization)
        and (pledge.need is None or pledge.need == need.id)
        and need.id not in pledge.declined
    )


def admitted_by(pledge: PledgeIn) -> str:
    """Which earmark admitted the pledge's money to a need, for the row's explanation."""
    if pledge.need is not None:
        return NEED
    if pledge.organization is not None:
        return ORGANIZATION
    if pledge.sectors or pledge.provinces:
        return SECTOR_PROVINCE
    return UNRESTRICTED


def rule_text(*, fairness: bool, stability: bool, greedy: bool = False) -> str:
    rule = "urgency first, then deadline nearness"
    if greedy:
        return "greedy insert: " + rule
    if fairness:
        rule += "; province fairness"
    if stability:
        rule += "; current proposals kept unless a better use gains"
    return rule


def explanation(pledge: PledgeIn, need: NeedIn, need_weight: int, *, kept: bool, rule: str) -> dict:
    return {
        "admitted_by": admitted_by(pledge),
        "urgency": need.urgency,
        "deadline": need.deadline.isoformat(),
        "weight": need_weight,
        "rule": rule,
        "kept": kept,
    }


def fairness_bands(province_need: int, total_supply: int, total_need: int) -> list[tuple[int, int]]:
    """The convex penalty arcs of one province: ``(capacity, unit cost)`` per non-empty band.

    Exact integer arithmetic; capacities sum to ``province_need``.
    """
    if province_need <= 0:
        return []
    # t = min(1, supply / need) as a fraction tn / td
    tn, td = (total_supply, total_need) if total_supply < total_need else (1, 1)
    starts = [min(province_need, province_need * a * tn // (b * td)) for a, b in FAIRNESS_BANDS]
    ends = [*starts[1:], province_need]
    last = len(FAIRNESS_BANDS) - 1
    bands = []
    for k, (lo, hi) in enumerate(zip(starts, ends, strict=True)):
        if hi > lo:
            bands.append((hi - lo, FAIRNESS_MAX * k // last))
    return bands


def fairness_penalty(funded: int, bands: list[tuple[int, int]]) -> int:
    penalty, rest = 0, funded
    for cap, cost in bands:
        take = min(rest, cap)
        penalty += take * cost
        rest -= take
    return penalty


def evaluate(
    rows: Iterable[Row] | Iterable[tuple[str, str, int]],
    pledges: Iterable[PledgeIn],
    needs: Iterable[NeedIn],
    proposals: Iterable[Proposal] = (),
    *,
    today: date,
    fairness: bool = True,
    stability: bool = True,
) -> dict:
    """The exact integer objective of any set of rows under the solver's model.

    Returns ``objective`` (what ``solve`` maximises), ``weighted`` (Σ weight × amount, the
    urgency-weighted funded amount without fairness or stability), ``funded`` and ``kept``.
    Rows are not checked here (see ``check_rows``).
    """
    needs_by_id = {n.id: n for n in needs if n.capacity > 0}
    pledges = [p for p in pledges if p.capacity > 0]
    pledge_by_id = {p.id: p for p in pledges}
    weights = {nid: weight(n, today) for nid, n in needs_by_id.items()}
    proposed: dict[tuple[str, str], int] = {}
    for pr in proposals:
        key = (pr.pledge, pr.need)
        proposed[key] = proposed.get(key, 0) + pr.amount
    weighted = funded = kept = 0
    by_province: dict[str, int] = {}
    for row in rows:
        pid, nid, amount = (row.pledge, row.need, row.amount) if isinstance(row, Row) else row
        need = needs_by_id[nid]
        weighted += weights[nid] * amount
        funded += amount
        by_province[need.province] = by_province.get(need.province, 0) + amount
        if pid in pledge_by_id and eligible(pledge_by_id[pid], need):
            kept += min(amount, proposed.get((pid, nid), 0))
    objective = weighted + (STABILITY_BONUS * kept if stability else 0)
    if fairness:
        objective -= sum(
            fairness_penalty(by_province.get(prov, 0), bands)
            for prov, bands in province_bands(needs_by_id.values(), pledges).items()
        )
    return {"objective": objective, "weighted": weighted, "funded": funded, "kept": kept}


def province_bands(
    needs: Iterable[NeedIn], pledges: Iterable[PledgeIn]
) -> dict[str, list[tuple[int, int]]]:
    """Fairness bands of every province with open needs (positive capacities only)."""
    need_by_prov: dict[str, int] = {}
    for n in needs:
        if n.capacity > 0:
            need_by_prov[n.province] = need_by_prov.get(n.province, 0) + n.capacity
    total_need = sum(need_by_prov.values())
    total_supply = sum(p.capacity for p in pledges if p.capacity > 0)
    return {
        prov: fairness_bands(amount, total_supply, total_need)
        for prov, amount in sorted(need_by_prov.items())
    }


def check_rows(
    rows: Iterable[Row], pledges: Iterable[PledgeIn], needs: Iterable[NeedIn]
) -> list[str]:
    """Every way the rows break capacities or earmarks (empty when they are sound)."""
    pledge_by_id: Mapping[str, PledgeIn] = {p.id: p for p in pledges}
    need_by_id: Mapping[str, NeedIn] = {n.id: n for n in needs}
    used_p: dict[str, int] = {}
    used_n: dict[str, int] = {}
    problems = []
    for row in rows:
        pledge, need = pledge_by_id.get(row.pledge), need_by_id.get(row.need)
        if pledge is None or need is None:
            problems.append(f"{row.pledge}->{row.need}: unknown pledge or need")
            continue
        if row.amount <= 0:
            problems.append(f"{row.pledge}->{row.need}: amount {row.amount}")
        if not eligible(pledge, need):
            problems.append(f"{row.pledge}->{row.need}: earmarks do not admit the need")
        used_p[row.pledge] = used_p.get(row.pledge, 0) + row.amount
        used_n[row.need] = used_n.get(row.need, 0) + row.amount
    problems += [
        f"pledge {k} over capacity" for k, v in used_p.items() if v > pledge_by_id[k].capacity
    ]
    problems += [f"need {k} over capacity" for k, v in used_n.items() if v > need_by_id[k].capacity]
    return problems
