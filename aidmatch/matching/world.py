"""The solver's view of its input: pledges and needs in a canonical order with numpy columns.

Everything downstream is indexed by these positions, so the same input in any order gives
the same arrays (pledges and needs sorted by (rank, id); ``pledge_rank`` puts the
soonest-expiring pledge first, then that order), and the same graph, flows and rows. Nothing
downstream orders by an id, so ids renamed under the same ranks give the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import numpy as np

from aidmatch.matching.model import (
    DEADLINE_HORIZON_DAYS,
    DEADLINE_PER_DAY,
    MAX_URGENCY,
    NEED,
    ORGANIZATION,
    SECTOR_PROVINCE,
    UNRESTRICTED,
    URGENCY_STEP,
)
from aidmatch.matching.types import NeedArrays, NeedIn, PledgeArrays, PledgeIn, Proposal


class ClassKey(NamedTuple):
    """A pledge class (pledges with the same earmarks), from codes and positions only."""

    sectors: tuple[str, ...]  # sorted sector codes; empty = any
    provinces: tuple[str, ...]  # sorted province codes; empty = any
    org: int  # -1: none; -2: an organization with no open need (admits nothing); else index
    need: int  # -1: none; -2: a need not in the world (admits nothing); else its position
    declined: tuple[int, ...]  # positions of the needs declined, sorted


@dataclass(slots=True)
class World:
    pledge_ids: list[str]  # capacity > 0, sorted by (rank, id)
    need_ids: list[str]  # capacity > 0, sorted by (rank, id)
    pledge_index: dict[str, int]
    need_index: dict[str, int]
    pledge_cap: np.ndarray  # int64
    pledge_rank: np.ndarray  # int64: position when soonest-expiring first, then (rank, id)
    pledge_class: np.ndarray  # int64: index into ``classes``
    classes: list[ClassKey]  # sorted
    need_cap: np.ndarray  # int64
    need_weight: np.ndarray  # int64
    need_urgency: np.ndarray  # int64
    need_deadline: np.ndarray  # int64 date ordinals
    sectors: list[str]  # the sectors and provinces (codes) that open needs have, sorted
    provinces: list[str]
    organizations: list[str]  # in the order of their first need
    need_sector: np.ndarray  # int64 indices into the vocabularies above
    need_province: np.ndarray
    need_org: np.ndarray
    ignored_pledges: int
    ignored_needs: int


def _ordered(ids, capacity: np.ndarray, rank: np.ndarray | None, what: str) -> np.ndarray:
    """Indices of the items with capacity > 0, by (rank, id); refuses duplicate ids."""
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        for i in ids:
            if i in seen:
                raise ValueError(f"duplicate {what} id {i!r}")
            seen.add(i)
    live = np.flatnonzero(np.asarray(capacity) > 0).tolist()
    if rank is None or not np.any(rank):
        live.sort(key=ids.__getitem__)
    else:
        ranks = np.asarray(rank).tolist()
        live.sort(key=lambda i: (ranks[i], ids[i]))
    return np.asarray(live, dtype=np.int64)


def weights(urgency: np.ndarray, deadline: np.ndarray, today: date, ids) -> np.ndarray:
    """``model.weight`` for many needs at once (the same integers)."""
    urgency = np.asarray(urgency, dtype=np.int64)
    bad = (urgency < 1) | (urgency > MAX_URGENCY)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"need {ids[i]}: urgency {urgency[i]} is outside 1..{MAX_URGENCY}")
    days = np.clip(
        np.asarray(deadline, dtype=np.int64) - today.toordinal(), 0, DEADLINE_HORIZON_DAYS
    )
    return urgency * URGENCY_STEP + (DEADLINE_HORIZON_DAYS - days) * DEADLINE_PER_DAY


def _vocabulary(codes: np.ndarray, names, *, by_first: bool = False):
    """(the names used, sorted or in order of first use; each row's index into them)."""
    used, first, inv = np.unique(codes, return_index=True, return_inverse=True)
    if by_first:
        order = np.argsort(first, kind="stable")
    else:
        order = np.asarray(sorted(range(len(used)), key=lambda i: names[used[i]]), dtype=np.int64)
    position = np.empty(len(used), dtype=np.int64)
    position[order] = np.arange(len(used))
    return [names[used[i]] for i in order.tolist()], position[inv].astype(np.int64)


def prepare(
    pledges: Iterable[PledgeIn] | PledgeArrays,
    needs: Iterable[NeedIn] | NeedArrays,
    today: date,
) -> World:
    pa = pledges if isinstance(pledges, PledgeArrays) else PledgeArrays.from_pledges(pledges)
    na = needs if isinstance(needs, NeedArrays) else NeedArrays.from_needs(needs)
    p_cap, n_cap = np.asarray(pa.capacity, np.int64), np.asarray(na.capacity, np.int64)
    po = _ordered(pa.ids, p_cap, pa.rank, "pledge")
    no = _ordered(na.ids, n_cap, na.rank, "need")
    pledge_ids = [str(pa.ids[i]) for i in po.tolist()]  # (numpy str arrays too)
    need_ids = [str(na.ids[i]) for i in no.tolist()]
    need_index = {nid: i for i, nid in enumerate(need_ids)}

    sectors, need_sector = _vocabulary(np.asarray(na.sector)[no], na.sectors)
    provinces, need_province = _vocabulary(np.asarray(na.province)[no], na.provinces)
    # Organizations in the order of their first need (not by id: ids may be random).
    organizations, need_org = _vocabulary(
        np.asarray(na.organization)[no], na.organizations, by_first=True
    )
    urgency = np.asarray(na.urgency, dtype=np.int64)[no]
    deadline = np.asarray(na.deadline, dtype=np.int64)[no]

    expiry = np.full(len(po), np.iinfo(np.int64).max, dtype=np.int64)
    if pa.expires_at is not None:
        expiry = np.asarray(pa.expires_at, dtype=np.int64)[po]
    order = np.lexsort((np.arange(len(po)), expiry))  # soonest expiry first, then position
    rank = np.empty(len(po), dtype=np.int64)
    rank[order] = np.arange(len(po), dtype=np.int64)

    # Classes: the distinct earmarks, as canonical keys in sorted order.
    earmark = np.asarray(pa.earmark, dtype=np.int64)[po]
    used, inv = np.unique(earmark, return_inverse=True)
    o_ix = {o: i for i, o in enumerate(organizations)}
    keys = [_class_key(pa.earmarks[e], o_ix, need_index) for e in used.tolist()]
    classes = sorted(set(keys))
    class_ix = {k: i for i, k in enumerate(classes)}
    class_of_used = np.asarray([class_ix[k] for k in keys], dtype=np.int64)
    return World(
        pledge_ids=pledge_ids,
        need_ids=need_ids,
        pledge_index={pid: i for i, pid in enumerate(pledge_ids)},
        need_index=need_index,
        pledge_cap=p_cap[po],
        pledge_rank=rank,
        pledge_class=class_of_used[inv] if len(po) else np.zeros(0, dtype=np.int64),
        classes=classes,
        need_cap=n_cap[no],
        need_weight=weights(urgency, deadline, today, need_ids),
        need_urgency=urgency,
        need_deadline=deadline,
        sectors=sectors,
        provinces=provinces,
        organizations=organizations,
        need_sector=need_sector,
        need_province=need_province,
        need_org=need_org,
        ignored_pledges=len(pa) - len(po),
        ignored_needs=len(na) - len(no),
    )


def _class_key(e, o_ix: dict[str, int], need_index: dict[str, int]) -> ClassKey:
    org, need, declined = e.organization, e.need, e.declined
    return ClassKey(
        tuple(sorted(set(e.sectors))) if e.sectors else (),
        tuple(sorted(set(e.provinces))) if e.provinces else (),
        -1 if org is None else o_ix.get(org, -2),
        -1 if need is None else need_index.get(need, -2),
        tuple(sorted({need_index[d] for d in declined if d in need_index})) if declined else (),
    )


def admits(world: World, key: ClassKey, n: int) -> bool:
    """Whether a class's earmarks admit need ``n`` (``model.eligible`` on positions)."""
    return (
        (not key.sectors or world.sectors[world.need_sector[n]] in key.sectors)
        and (not key.provinces or world.provinces[world.need_province[n]] in key.provinces)
        and (key.org == -1 or key.org == world.need_org[n])
        and (key.need == -1 or key.need == n)
        and n not in key.declined
    )


def admits_mask(world: World, key: ClassKey) -> np.ndarray:
    """``admits`` for every need at once."""
    mask = np.ones(len(world.need_ids), dtype=bool)
    if key.sectors:
        mask &= np.isin(world.need_sector, _codes(world.sectors, key.sectors))
    if key.provinces:
        mask &= np.isin(world.need_province, _codes(world.provinces, key.provinces))
    if key.org != -1:
        mask &= world.need_org == key.org
    if key.need != -1:
        only = np.zeros(len(mask), dtype=bool)
        if key.need >= 0:
            only[key.need] = True
        mask &= only
    if key.declined:
        mask[list(key.declined)] = False
    return mask


@dataclass(slots=True)
class AdmitTables:
    """Per class: the sectors and provinces it admits, its organization and need, and the
    classes that declined each need; for eligibility checks on many pairs at once."""

    sector_ok: np.ndarray  # bool, classes × sectors
    province_ok: np.ndarray  # bool, classes × provinces
    org: np.ndarray  # int64 per class (-1 none, -2 unknown)
    need: np.ndarray  # int64 per class (-1 none, -2 unknown)
    declined_by: dict[int, list[int]]  # need position → classes that declined it


def admit_tables(world: World) -> AdmitTables:
    classes = world.classes
    sector_ok = np.ones((len(classes), len(world.sectors)), dtype=bool)
    province_ok = np.ones((len(classes), len(world.provinces)), dtype=bool)
    s_ix = {v: i for i, v in enumerate(world.sectors)}
    p_ix = {v: i for i, v in enumerate(world.provinces)}
    declined_by: dict[int, list[int]] = {}
    for c, key in enumerate(classes):
        if key.sectors:
            sector_ok[c] = False
            sector_ok[c, [s_ix[v] for v in key.sectors if v in s_ix]] = True
        if key.provinces:
            province_ok[c] = False
            province_ok[c, [p_ix[v] for v in key.provinces if v in p_ix]] = True
        for d in key.declined:
            declined_by.setdefault(d, []).append(c)
    return AdmitTables(
        sector_ok,
        province_ok,
        np.asarray([k.org for k in classes], dtype=np.int64),
        np.asarray([k.need for k in classes], dtype=np.int64),
        declined_by,
    )


def pair_admitted(world: World, pidx: np.ndarray, nidx: np.ndarray) -> np.ndarray:
    """``admits`` for many (pledge, need) pairs at once."""
    t = admit_tables(world)
    c = world.pledge_class[pidx]
    ok = (
        t.sector_ok[c, world.need_sector[nidx]]
        & t.province_ok[c, world.need_province[nidx]]
        & ((t.org[c] == -1) | (t.org[c] == world.need_org[nidx]))
        & ((t.need[c] == -1) | (t.need[c] == nidx))
    )
    if t.declined_by:
        declined = {(cl, n) for n, cls in t.declined_by.items() for cl in cls}
        ok &= [(cl, n) not in declined for cl, n in zip(c.tolist(), nidx.tolist(), strict=True)]
    return ok


def _codes(vocab: list[str], values: tuple[str, ...]) -> np.ndarray:
    ix = {v: i for i, v in enumerate(vocab)}
    return np.asarray([ix[v] for v in values if v in ix], dtype=np.int64)


def admitted_by(key: ClassKey) -> str:
    """Which earmark admitted a class's money to a need, for the row's explanation."""
    if key.need != -1:
        return NEED
    if key.org != -1:
        return ORGANIZATION
    if key.sectors or key.provinces:
        return SECTOR_PROVINCE
    return UNRESTRICTED


def current_proposals(
    world: World, proposals: Iterable[Proposal]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """The current proposals that still stand: (pledge idx, need idx, amount) sorted by pair,
    duplicates summed, ineligible or unknown pairs dropped, and amounts clipped so that no
    pledge or need is over its capacity (pairs in (pledge, need) order keep theirs first).
    Returns the three arrays and the amount dropped."""
    pi, ni, am = [], [], []
    dropped = 0
    p_get, n_get = world.pledge_index.get, world.need_index.get
    for pr in proposals:
        if pr.amount <= 0:
            continue
        p, n = p_get(pr.pledge), n_get(pr.need)
        if p is None or n is None:
            dropped += pr.amount
            continue
        pi.append(p)
        ni.append(n)
        am.append(pr.amount)
    if am:
        ok = pair_admitted(world, np.asarray(pi, dtype=np.int64), np.asarray(ni, dtype=np.int64))
        if not ok.all():
            dropped += int(np.asarray(am, dtype=np.int64)[~ok].sum())
            pi, ni, am = (np.asarray(x, dtype=np.int64)[ok].tolist() for x in (pi, ni, am))
    if not am:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy(), dropped
    pidx = np.asarray(pi, dtype=np.int64)
    nidx = np.asarray(ni, dtype=np.int64)
    amt = np.asarray(am, dtype=np.int64)
    key = pidx * len(world.need_ids) + nidx
    uniq, inv = np.unique(key, return_inverse=True)
    amt = _sum_by(inv, amt, len(uniq))
    pidx, nidx = uniq // len(world.need_ids), uniq % len(world.need_ids)
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
