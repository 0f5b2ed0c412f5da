"""Seeded synthetic matching worlds (importable: ``from bench.worlds import make_world``).

34 provinces (AF01..AF34, needs skewed towards a few), 11 sectors, a few thousand
organizations each based in one province with one to three sectors; needs and pledges in
several currencies with lognormal amounts, converted to the pool currency (USD) at fixed
rates with ``aidmatch.money`` (rounded toward the receiver getting less). Pledge earmarks:
~20% unrestricted, ~70% 1–3 sectors and/or 1–10 provinces, ~6% one organization (a third
of them also a sector), ~4% one need. Pool capacity is ~70% of the needs, so choices matter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import numpy as np

from aidmatch.matching import NeedIn, PledgeIn
from aidmatch.money import convert, to_minor

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
PLEDGE_CURRENCIES = (["USD", "EUR", "GBP", "AFN", "SEK", "CHF"], [0.45, 0.2, 0.12, 0.1, 0.08, 0.05])
NEED_CURRENCIES = (["AFN", "USD"], [0.6, 0.4])
TODAY = date(2026, 6, 1)


@dataclass
class World:
    pledges: list[PledgeIn]
    needs: list[NeedIn]
    today: date
    pool_currency: str
    rates: dict[str, Decimal]
    organizations: list[str]
    org_province: dict[str, str]
    pledge_currency: dict[str, str] = field(default_factory=dict)
    pledge_amount: dict[str, Decimal] = field(default_factory=dict)  # in its own currency
    need_currency: dict[str, str] = field(default_factory=dict)
    need_amount: dict[str, Decimal] = field(default_factory=dict)  # in its own currency
    seed: int = 0


def _to_pool(amount: Decimal, currency: str) -> int:
    return to_minor(convert(amount, RATES[currency], 2), 2)


def _amounts(rng: np.random.Generator, n: int, median_usd: float, sigma: float, cur: list[str]):
    usd = np.exp(rng.normal(np.log(median_usd), sigma, n))
    return [
        Decimal(str(round(float(u) / float(RATES[c]), 0 if c == "AFN" else 2))).quantize(
            Decimal("1") if c == "AFN" else Decimal("0.01")
        )
        for u, c in zip(usd, cur, strict=True)
    ]


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
    org_secs = [
        rng.choice(len(SECTORS), rng.integers(1, 4), replace=False).tolist() for _ in range(n_orgs)
    ]

    # Needs.
    need_org = rng.integers(0, n_orgs, n_needs)
    away = rng.random(n_needs) < 0.15
    need_prov = np.where(away, rng.choice(len(PROVINCES), n_needs, p=prov_w), org_prov[need_org])
    need_cur = rng.choice(NEED_CURRENCIES[0], n_needs, p=NEED_CURRENCIES[1]).tolist()
    need_amt = _amounts(rng, n_needs, 4000.0, 1.0, need_cur)
    urgency = rng.choice([1, 2, 3, 4, 5], n_needs, p=[0.1, 0.2, 0.3, 0.25, 0.15])
    deadline_days = rng.integers(-10, 540, n_needs)
    sec_pick = rng.random(n_needs)
    needs, need_currency, need_amount = [], {}, {}
    for i in range(n_needs):
        nid = f"{prefix}n{i:07d}"
        secs = org_secs[need_org[i]]
        sector = SECTORS[secs[int(sec_pick[i] * len(secs))]]
        needs.append(
            NeedIn(
                id=nid,
                capacity=_to_pool(need_amt[i], need_cur[i]),
                sector=sector,
                province=PROVINCES[need_prov[i]],
                organization=orgs[need_org[i]],
                urgency=int(urgency[i]),
                deadline=TODAY + timedelta(days=int(deadline_days[i])),
            )
        )
        need_currency[nid], need_amount[nid] = need_cur[i], need_amt[i]

    # Pledges: total ≈ 70% of the needs' total.
    pledge_cur = rng.choice(PLEDGE_CURRENCIES[0], n_pledges, p=PLEDGE_CURRENCIES[1]).tolist()
    need_total_usd = sum(n.capacity for n in needs) / 100 if needs else 4000.0 * n_pledges
    median = 0.7 * need_total_usd / max(scale_pledges or n_pledges, 1) / np.exp(1.2**2 / 2)
    pledge_amt = _amounts(rng, n_pledges, median, 1.2, pledge_cur)
    kind = rng.choice(
        ["any", "sec", "prov", "both", "org", "need"],
        n_pledges,
        p=[0.20, 0.12, 0.10, 0.48, 0.06, 0.04],
    )
    sec_w = rng.dirichlet(np.full(len(SECTORS), 2.0))
    expires = rng.integers(20, 400, n_pledges)
    no_expiry = rng.random(n_pledges) < 0.2
    pledges, pledge_currency, pledge_amount = [], {}, {}
    for i in range(n_pledges):
        pid = f"{prefix}p{i:07d}"
        sectors: frozenset[str] = frozenset()
        provinces: frozenset[str] = frozenset()
        org = need = None
        k = kind[i]
        if k in ("sec", "both"):
            sectors = frozenset(
                SECTORS[j] for j in rng.choice(len(SECTORS), rng.integers(1, 4), False, p=sec_w)
            )
        if k in ("prov", "both"):
            provinces = frozenset(
                PROVINCES[j]
                for j in rng.choice(len(PROVINCES), rng.integers(1, 11), False, p=prov_w)
            )
        if k == "org" and n_orgs:
            o = int(rng.integers(0, n_orgs))
            org = orgs[o]
            if rng.random() < 0.33:
                sectors = frozenset({SECTORS[org_secs[o][0]]})
        if k == "need" and needs:
            need = needs[int(rng.integers(0, len(needs)))].id
        pledges.append(
            PledgeIn(
                id=pid,
                capacity=_to_pool(pledge_amt[i], pledge_cur[i]),
                sectors=sectors,
                provinces=provinces,
                organization=org,
                need=need,
                expires_at=None
                if no_expiry[i]
                else datetime(2026, 6, 1, tzinfo=UTC) + timedelta(days=int(expires[i])),
            )
        )
        pledge_currency[pid], pledge_amount[pid] = pledge_cur[i], pledge_amt[i]
    return World(
        pledges=pledges,
        needs=needs,
        today=TODAY,
        pool_currency=POOL,
        rates=dict(RATES),
        organizations=orgs,
        org_province={o: PROVINCES[p] for o, p in zip(orgs, org_prov, strict=True)},
        pledge_currency=pledge_currency,
        pledge_amount=pledge_amount,
        need_currency=need_currency,
        need_amount=need_amount,
        seed=seed,
    )


def extra_pledges(world: World, count: int, seed: int) -> list[PledgeIn]:
    """``count`` new pledges for ``world`` (earmarked within its needs and organizations)."""
    extra = make_world(
        count, len(world.needs), seed, prefix=f"x{seed}-", scale_pledges=len(world.pledges)
    )
    names = {f"x{seed}-org{i:05d}": o for i, o in enumerate(world.organizations)}
    needs_by_new = {f"x{seed}-n{i:07d}": n.id for i, n in enumerate(world.needs)}
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
