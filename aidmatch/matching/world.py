"""The solver's view of its input: pledges and needs in a canonical order with numpy columns.

Everything downstream is indexed by these positions, so the same input in any order gives
the same arrays (pledges and needs sorted by (rank, id); ``pledge_rank`` puts the
soonest-expiring pledge first, then that order), and the same graph, flows and rows. Nothing
downstream orders by an id, so ids renamed under the same ranks give the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

from aidmatch.matching.model import (
    DEADLINE_HORIZON_DAYS,
    DEADLINE_PER_DAY,
    MAX_URGENCY,
    URGENCY_STEP,
    eligible,
    weight,
)
from aidmatch.matching.types import NeedIn, PledgeIn, Proposal


@dataclass(slots=True)
class World:
    pledges: list[PledgeIn]  # capacity > 0, sorted by (rank, id)
    needs: list[NeedIn]  # capacity > 0, sorted by (rank, id)
    pledge_index: dict[str, int]
    need_index: dict[str, int]
    pledge_cap: np.ndarray  # int64
    pledge_rank: np.ndarray  # int64: position when soonest-expiring first, then (rank, id)
    need_cap: np.ndarray  # int64
    need_weight: np.ndarray  # int64
    sectors: list[str]  # the sectors and provinces (codes) that open needs have, sorted
    provinces: list[str]
    organizations: list[str]  # in the order of their first need
    need_sector: np.ndarray  # int32 indices into the vocabularies above
    need_province: np.ndarray
    need_org: np.ndarray
    ignored_pledges: int
    ignored_needs: int


def _unique_ids(items: Iterable, what: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise ValueError(f"duplicate {what} id {item.id!r}")
        seen.add(item.id)


_EPOCH = datetime(1970, 1, 1)
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
_NEVER = np.iinfo(np.int64).max
_MICROSECOND = timedelta(microseconds=1)


def _expiry_micros(p: PledgeIn) -> int:
    """Microseconds since the epoch (exact; naive datetimes read as UTC); never: int64 max."""
    at = p.expires_at
    if at is None:
        return _NEVER
    return (at - (_EPOCH if at.tzinfo is None else _EPOCH_UTC)) // _MICROSECOND


def weights(needs: list[NeedIn], today: date) -> np.ndarray:
    """``model.weight`` for many needs at once (the same integers)."""
    urgency = np.fromiter((n.urgency for n in needs), dtype=np.int64, count=len(needs))
    bad = (urgency < 1) | (urgency > MAX_URGENCY)
    if bad.any():
        weight(needs[int(np.flatnonzero(bad)[0])], today)  # raises with the need's id
    days = np.fromiter((n.deadline.toordinal() for n in needs), dtype=np.int64, count=len(needs))
    days = np.clip(days - today.toordinal(), 0, DEADLINE_HORIZON_DAYS)
    return urgency * URGENCY_STEP + (DEADLINE_HORIZON_DAYS - days) * DEADLINE_PER_DAY


def prepare(pledges: Iterable[PledgeIn], needs: Iterable[NeedIn], today: date) -> World:
    all_pledges, all_needs = list(pledges), list(needs)
    _unique_ids(all_pledges, "pledge")
    _unique_ids(all_needs, "need")
    ps = sorted((p for p in all_pledges if p.capacity > 0), key=lambda p: (p.rank, p.id))
    ns = sorted((n for n in all_needs if n.capacity > 0), key=lambda n: (n.rank, n.id))
    expiry = np.fromiter((_expiry_micros(p) for p in ps), dtype=np.int64, count=len(ps))
    order = np.lexsort((np.arange(len(ps)), expiry))  # soonest expiry first, then id
    rank = np.empty(len(ps), dtype=np.int64)
    rank[order] = np.arange(len(ps), dtype=np.int64)
    sectors = sorted({n.sector for n in ns})
    provinces = sorted({n.province for n in ns})
    # Organizations in the order of their first need (not by id: ids may be random).
    organizations = list(dict.fromkeys(n.organization for n in ns))
    s_ix = {s: i for i, s in enumerate(sectors)}
    p_ix = {p: i for i, p in enumerate(provinces)}
    o_ix = {o: i for i, o in enumerate(organizations)}
    return World(
        pledges=ps,
        needs=ns,
        pledge_index={p.id: i for i, p in enumerate(ps)},
        need_index={n.id: i for i, n in enumerate(ns)},
        pledge_cap=np.fromiter((p.capacity for p in ps), dtype=np.int64, count=len(ps)),
        pledge_rank=rank,
        need_cap=np.fromiter((n.capacity for n in ns), dtype=np.int64, count=len(ns)),
        need_weight=weights(ns, today),
        sectors=sectors,
        provinces=provinces,
        organizations=organizations,
        need_sector=np.fromiter((s_ix[n.sector] for n in ns), dtype=np.int32, count=len(ns)),
        need_province=np.fromiter((p_ix[n.province] for n in ns), dtype=np.int32, count=len(ns)),
        need_org=np.fromiter((o_ix[n.organization] for n in ns), dtype=np.int32, count=len(ns)),
        ignored_pledges=len(all_pledges) - len(ps),
        ignored_needs=len(all_needs) - len(ns),
    )


def current_proposals(
    world: World, proposals: Iterable[Proposal]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The current proposals that still stand: (pledge idx, need idx, amount) sorted by pair,
    duplicates summed, ineligible or unknown pairs dropped, and amounts clipped so that no
    pledge or need is over its capacity (pairs in (pledge, need) order keep theirs first).
    Returns the three arrays and the amount dropped."""
    pi, ni, am = [], [], []
    dropped = 0
    for pr in proposals:
        p, n = world.pledge_index.get(pr.pledge), world.need_index.get(pr.need)
        if pr.amount <= 0:
            continue
        if p is None or n is None or not eligible(world.pledges[p], world.needs[n]):
            dropped += pr.amount
            continue
        pi.append(p)
        ni.append(n)
        am.append(pr.amount)
    if not am:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy(), dropped
    pidx = np.asarray(pi, dtype=np.int64)
    nidx = np.asarray(ni, dtype=np.int64)
    amt = np.asarray(am, dtype=np.int64)
    key = pidx * len(world.needs) + nidx
    uniq, inv = np.unique(key, return_inverse=True)
    amt = _sum_by(inv, amt, len(uniq))
    pidx, nidx = uniq // len(world.needs), uniq % len(world.needs)
    before = int(amt.sum())
    amt = _clip_by_group(pidx, amt, world.pledge_cap)
    order = np.lexsort((pidx, nidx))  # by need, then pledge
    amt_n = _clip_by_group(nidx[order], amt[order], world.need_cap)
    amt[order] = amt_n
    keep = amt > 0
    dropped += before - int(amt.sum())
    return pidx[keep], nidx[keep], amt[keep], dropped


def _sum_by(groups: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, groups, values)
    return out


def _clip_by_group(group: np.ndarray, amount: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Within runs of equal ``group`` (sorted), keep amounts until the group's cap is used."""
    before = exclusive_cumsum_by_group(group, amount)  # used by earlier items of the group
    return np.clip(cap[group] - before, 0, amount)


def exclusive_cumsum_by_group(group: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """For items sorted by group: the sum of the earlier items of the same group."""
    if len(amount) == 0:
        return amount
    cum = np.cumsum(amount)
    starts = np.r_[0, np.flatnonzero(group[1:] != group[:-1]) + 1]
    offset = np.repeat(cum[starts] - amount[starts], np.diff(np.r_[starts, len(amount)]))
    return cum - amount - offset
