"""Seeded synthetic matching worlds (importable: ``from bench.worlds import make_world``).

34 provinces (AF01..AF34, needs skewed towards a few), 11 sectors, a few thousand
organizations each based in one province with one to three sectors; needs and pledges in
several currencies with lognormal amounts, converted to the pool currency (USD) at fixed
rates with ``aidmatch.money`` (rounded toward the receiver getting less). Pledge earmarks:
~20% unrestricted, ~70% 1–3 sectors and/or 1–10 provinces, ~6% one organization (a third
of them also a sector), ~4% one need. Pool capacity is ~70% of the needs, so choices matter.
Generated as columns (numpy arrays, one ``Earmark`` per distinct earmark), so a 100k × 100k
world takes tens of MB, not hundreds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cached_property

import numpy as np

from aidmatch.matching import NEVER, Earmark, NeedArrays, NeedIn, PledgeArrays, PledgeIn
from aidmatch.matching.types import expiry_micros

PROVINCES = [f"AF{i:02d}" for i in range(1, 35)]
SECTORS = ["FSC", "EDU", "HEA", "NUT", "WSH", "SHL", "PRO", "CP", "GBV", "LOG", "MS"]
POOL = "USD"
RATES = {  # units of the pool currency per unit (fixed for the benchmark)
    "USD": Decimal("1"),
    "EUR": Decimal("1.0843"),
    "GBP": Decimal("1.2671"),
    "AFN": Decimal("0.014102"),
    "SEK": Decimal("0.0931"),
    "CHF": Decimal("1.1302"),
}
CURRENCIES = list(RATES)
DECIMALS = np.asarray([0 if c == "AFN" else 2 for c in CURRENCIES], dtype=np.int64)
RATE_MICROS = np.asarray([int(RATES[c] * 10**6) for c in CURRENCIES], dtype=np.int64)
PLEDGE_CURRENCIES = (["USD", "EUR", "GBP", "AFN", "SEK", "CHF"], [0.45, 0.2, 0.12, 0.1, 0.08, 0.05])
NEED_CURRENCIES = (["AFN", "USD"], [0.6, 0.4])
TODAY = date(2026, 6, 1)
_START = expiry_micros(datetime(2026, 6, 1, tzinfo=UTC))
_DAY = 86_400 * 10**6


@dataclass
class World:
    """A synthetic world as columns: ``pledge_arrays`` and ``need_arrays`` (what the solver
    takes), each item's currency (index into ``CURRENCIES``) and amount in that currency's
    minor units. ``pledges``, ``needs``, ``pledge_amount`` etc. build objects on first use,
    for callers that want them (tests, the end-to-end benchmark)."""

    pledge_arrays: PledgeArrays
    need_arrays: NeedArrays
    today: date
    pool_currency: str
    rates: dict[str, Decimal]
    organizations: list[str]
    org_province: dict[str, str]
    pledge_currency_code: np.ndarray
    pledge_amount_minor: np.ndarray
    need_currency_code: np.ndarray
    need_amount_minor: np.ndarray
    seed: int = 0

    @cached_property
    def pledges(self) -> list[PledgeIn]:
        return [self.pledge_arrays.pledge(i) for i in range(len(self.pledge_arrays))]

    @cached_property
    def needs(self) -> list[NeedIn]:
        return [self.need_arrays.need(i) for i in range(len(self.need_arrays))]

    @cached_property
    def pledge_currency(self) -> dict[str, str]:
        return _by_id(self.pledge_arrays.ids, [CURRENCIES[c] for c in self.pledge_currency_code])

    @cached_property
    def pledge_amount(self) -> dict[str, Decimal]:  # in its own currency
        return _by_id(
            self.pledge_arrays.ids, _decimals(self.pledge_amount_minor, self.pledge_currency_code)
        )

    @cached_property
    def need_currency(self) -> dict[str, str]:
        return _by_id(self.need_arrays.ids, [CURRENCIES[c] for c in self.need_currency_code])

    @cached_property
    def need_amount(self) -> dict[str, Decimal]:  # in its own currency
        return _by_id(
            self.need_arrays.ids, _decimals(self.need_amount_minor, self.need_currency_code)
        )


def _by_id(ids, values) -> dict:
    return dict(zip(ids, values, strict=True))


def _decimals(minor: np.ndarray, code: np.ndarray) -> list[Decimal]:
    return [Decimal(int(m)).scaleb(-int(DECIMALS[c])) for m, c in zip(minor, code, strict=True)]


def _to_pool(minor: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Pool cents, rounded down (``aidmatch.money.convert``): minor × rate, exact in int64."""
    return minor * RATE_MICROS[code] // 10 ** (DECIMALS[code] + 4)


def _amounts(rng: np.random.Generator, n: int, median_usd: float, sigma: float, code: np.ndarray):
    """Lognormal amounts (median in USD) in each currency's minor units."""
    usd = np.exp(rng.normal(np.log(median_usd), sigma, n))
    rate = RATE_MICROS[code] / 10**6
    return np.rint(usd / rate * 10.0 ** DECIMALS[code]).astype(np.int64)


def _top_k(rng: np.random.Generator, weights: np.ndarray, k: np.ndarray) -> list[tuple[int, ...]]:
    """For each row, ``k[row]`` distinct indices drawn with ``weights`` (Gumbel top-k)."""
    if not len(k):
        return []
    keys = np.log(weights) + rng.gumbel(size=(len(k), len(weights)))
    order = np.argsort(-keys, axis=1)
    return [tuple(sorted(row[:j])) for row, j in zip(order.tolist(), k.tolist(), strict=True)]


def make_world(
    n_pledges: int, n_needs: int, seed: int = 0, *, prefix: str = "", scale_pledges: int = 0
) -> World:
    """A reproducible world; ``prefix`` keeps ids of worlds made for extra pledges apart, and
    ``scale_pledges`` sizes pledges as if there were that many (default ``n_pledges``)."""
    rng = np.random.default_rng(seed)
    n_orgs = int(min(3000, max(5, n_needs // 30)))
    prov_w = rng.dirichlet(np.full(len(PROVINCES), 0.8))
    prov_w = 0.7 * prov_w + 0.3 / len(PROVINCES)
    orgs = [f"{prefix}org{i:05d}" for i in range(n_orgs)]
    org_prov = rng.choice(len(PROVINCES), n_orgs, p=prov_w)
    org_n_sec = rng.integers(1, 4, n_orgs)
    org_secs = np.asarray(
        [
            np.r_[rng.choice(len(SECTORS), k, replace=False), np.zeros(3 - k, dtype=np.int64)]
            for k in org_n_sec.tolist()
        ],
        dtype=np.int64,
    ).reshape(n_orgs, 3)

    # Needs.
    need_org = rng.integers(0, n_orgs, n_needs)
    away = rng.random(n_needs) < 0.15
    need_prov = np.where(away, rng.choice(len(PROVINCES), n_needs, p=prov_w), org_prov[need_org])
    need_cur = np.asarray([CURRENCIES.index(c) for c in NEED_CURRENCIES[0]])[
        rng.choice(len(NEED_CURRENCIES[0]), n_needs, p=NEED_CURRENCIES[1])
    ]
    need_minor = _amounts(rng, n_needs, 4000.0, 1.0, need_cur)
    urgency = rng.choice([1, 2, 3, 4, 5], n_needs, p=[0.1, 0.2, 0.3, 0.25, 0.15])
    deadline_days = rng.integers(-10, 540, n_needs)
    sec_pick = rng.random(n_needs)
    need_sector = org_secs[need_org, (sec_pick * org_n_sec[need_org]).astype(np.int64)]
    need_ids = [f"{prefix}n{i:07d}" for i in range(n_needs)]
    need_cap = _to_pool(need_minor, need_cur)
    needs = NeedArrays(
        ids=need_ids,
        capacity=need_cap,
        sector=need_sector,
        sectors=SECTORS,
        province=need_prov.astype(np.int64),
        provinces=PROVINCES,
        organization=need_org.astype(np.int64),
        organizations=orgs,
        urgency=urgency.astype(np.int64),
        deadline=TODAY.toordinal() + deadline_days.astype(np.int64),
    )

    # Pledges: total ≈ 70% of the needs' total.
    pledge_cur = np.asarray([CURRENCIES.index(c) for c in PLEDGE_CURRENCIES[0]])[
        rng.choice(len(PLEDGE_CURRENCIES[0]), n_pledges, p=PLEDGE_CURRENCIES[1])
    ]
    need_total_usd = int(need_cap.sum()) / 100 if n_needs else 4000.0 * n_pledges
    median = 0.7 * need_total_usd / max(scale_pledges or n_pledges, 1) / np.exp(1.2**2 / 2)
    pledge_minor = _amounts(rng, n_pledges, median, 1.2, pledge_cur)
    kind = rng.choice(6, n_pledges, p=[0.20, 0.12, 0.10, 0.48, 0.06, 0.04])
    _any, sec, prov, both, org_kind, need_kind = range(6)
    sec_w = rng.dirichlet(np.full(len(SECTORS), 2.0))
    expires = rng.integers(20, 400, n_pledges)
    no_expiry = rng.random(n_pledges) < 0.2
    with_sec = np.flatnonzero((kind == sec) | (kind == both))
    with_prov = np.flatnonzero((kind == prov) | (kind == both))
    sec_sets = dict(
        zip(with_sec.tolist(), _top_k(rng, sec_w, rng.integers(1, 4, len(with_sec))), strict=True)
    )
    prov_sets = dict(
        zip(
            with_prov.tolist(),
            _top_k(rng, prov_w, rng.integers(1, 11, len(with_prov))),
            strict=True,
        )
    )
    org_pick = rng.integers(0, max(n_orgs, 1), n_pledges)
    org_also_sector = rng.random(n_pledges) < 0.33
    need_pick = rng.integers(0, max(n_needs, 1), n_pledges)
    table: dict[Earmark, int] = {}
    earmark = np.zeros(n_pledges, dtype=np.int64)
    for i, k in enumerate(kind.tolist()):
        sectors = tuple(SECTORS[j] for j in sec_sets.get(i, ()))
        provinces = tuple(PROVINCES[j] for j in prov_sets.get(i, ()))
        org = need = None
        if k == org_kind and n_orgs:
            o = int(org_pick[i])
            org = orgs[o]
            if org_also_sector[i]:
                sectors = (SECTORS[org_secs[o, 0]],)
        if k == need_kind and n_needs:
            need = need_ids[int(need_pick[i])]
        earmark[i] = table.setdefault(Earmark(sectors, provinces, org, need), len(table))
    pledges = PledgeArrays(
        ids=[f"{prefix}p{i:07d}" for i in range(n_pledges)],
        capacity=_to_pool(pledge_minor, pledge_cur),
        earmark=earmark,
        earmarks=list(table),
        expires_at=np.where(no_expiry, NEVER, _START + expires.astype(np.int64) * _DAY),
    )
    return World(
        pledge_arrays=pledges,
        need_arrays=needs,
        today=TODAY,
        pool_currency=POOL,
        rates=dict(RATES),
        organizations=orgs,
        org_province={o: PROVINCES[p] for o, p in zip(orgs, org_prov, strict=True)},
        pledge_currency_code=pledge_cur,
        pledge_amount_minor=pledge_minor,
        need_currency_code=need_cur,
        need_amount_minor=need_minor,
        seed=seed,
    )


def extra_pledges(world: World, count: int, seed: int) -> list[PledgeIn]:
    """``count`` new pledges for ``world`` (earmarked within its needs and organizations)."""
    extra = make_world(
        count,
        len(world.need_arrays),
        seed,
        prefix=f"x{seed}-",
        scale_pledges=len(world.pledge_arrays),
    )
    names = {f"x{seed}-org{i:05d}": o for i, o in enumerate(world.organizations)}
    needs_by_new = {f"x{seed}-n{i:07d}": n for i, n in enumerate(world.need_arrays.ids)}
    return [
        PledgeIn(
            id=p.id,
            capacity=p.capacity,
            sectors=p.sectors,
            provinces=p.provinces,
            organization=names.get(p.organization) if p.organization else None,
            need=needs_by_new.get(p.need) if p.need else None,
            expires_at=p.expires_at,
        )
        for p in extra.pledges
    ]


def extra_needs(world: World, count: int, seed: int) -> list[NeedIn]:
    """``count`` new needs for ``world``'s organizations."""
    extra = make_world(0, count, seed, prefix=f"x{seed}-")
    rng = np.random.default_rng(seed)
    owners = rng.integers(0, len(world.organizations), count)
    return [
        NeedIn(
            id=n.id,
            capacity=n.capacity,
            sector=n.sector,
            province=n.province,
            organization=world.organizations[int(o)],
            urgency=n.urgency,
            deadline=n.deadline,
        )
        for n, o in zip(extra.needs, owners, strict=True)
    ]
