"""The world as the solver sees it: live pledges and fundable needs, in minor units of one pool
currency, with the current proposals. Read without locks (the write re-checks under locks), in a
constant number of queries whatever the size of the world.

Conversion into the pool rounds down (a capacity is never overstated); out of the pool, the
same rate is used back, again rounding down, so a need never receives more than was pledged.
Pledges or needs in a currency with no rate to the pool currency, or only rates older than
FX_MAX_RATE_AGE_DAYS, are left out of the run until a verifier records a fresh rate: the run's
stats name those currencies (``currencies_without_rate``, with the newest too-old rate's date in
``stale_rates``) and count the pledges and needs left out (``pledges_no_rate``,
``needs_no_rate``). So are pledges and needs with less than MATCHING_MIN_UNITS minor units of
the pool left (rounding dust is not worth a proposal).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from aidmatch.lifecycle import NEED_FUNDABLE, PLEDGE_LIVE, AllocationStatus, OrganizationStatus
from aidmatch.matching.types import NeedIn, PledgeIn, Proposal
from aidmatch.money import minor_quantum
from apps.core.dates import local_date
from apps.matching.models import Allocation
from apps.needs.models import Need
from apps.pledges.models import Pledge
from apps.reference.models import Currency

RATE_PLACES = Decimal("1e-10")


@dataclass(frozen=True)
class Pool:
    """The pool currency, the rate of every convertible currency to it, and minor units."""

    currency: str
    rates: dict[str, Decimal]  # currency code → units of the pool currency per unit
    sources: dict[str, tuple[str, date | None]]
    minor_units: dict[str, int]
    on: date
    pair_rates: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    stale: dict[str, date] = field(default_factory=dict)  # code → newest rate, too old

    def to_pool(self, amount: Decimal, currency: str) -> int:
        """Minor units of the pool currency, rounded down."""
        pooled = amount * self.rates[currency]
        return int(pooled.scaleb(self.minor_units[self.currency]).to_integral_value(ROUND_DOWN))

    def from_pool(self, units: int, currency: str) -> Decimal:
        """An amount in ``currency`` worth at most ``units`` of the pool, rounded down."""
        pooled = Decimal(units).scaleb(-self.minor_units[self.currency])
        return (pooled / self.rates[currency]).quantize(
            minor_quantum(self.minor_units[currency]), rounding=ROUND_DOWN
        )

    def cross_rate(self, base: str, quote: str) -> Decimal:
        """Units of ``quote`` per unit of ``base`` on the pool's date, as the exchange-rate
        rules give it (direct, inverse or through USD, rounded down), once per pair."""
        if base == quote:
            return Decimal(1)
        if (base, quote) not in self.pair_rates:
            from apps.fx.selectors import rate_on

            self.pair_rates[base, quote] = rate_on(base=base, quote=quote, on=self.on).rate
        return self.pair_rates[base, quote]

    def convert(self, amount: Decimal, base: str, quote: str) -> Decimal:
        return (amount * self.cross_rate(base, quote)).quantize(
            minor_quantum(self.minor_units[quote]), rounding=ROUND_DOWN
        )


@dataclass
class World:
    pool: Pool
    today: date
    pledges: list[PledgeIn]
    needs: list[NeedIn]
    proposals: list[Proposal]
    # what the write needs to turn rows back into money
    pledge_currency: dict[str, str]
    need_currency: dict[str, str]
    pledge_remaining: dict[str, Decimal]  # amount - committed, in the pledge's currency
    current: dict[tuple[str, str], Allocation]  # (pledge id, need id) → proposal
    left_out: dict[str, object] = field(default_factory=dict)  # merged into the run's stats


def load_pool(*, on: date, currencies: set[str]) -> Pool:
    """Rates to the pool currency for ``currencies`` (those without a rate are left out)."""
    pool_currency = settings.MATCHING_POOL_CURRENCY
    minor_units = dict(Currency.objects.values_list("code", "minor_unit"))
    rates: dict[str, Decimal] = {pool_currency: Decimal(1)}
    sources: dict[str, tuple[str, date | None]] = {pool_currency: ("identity", None)}
    stale: dict[str, date] = {}
    if currencies - {pool_currency}:
        from apps.fx.selectors import pool_rates

        found = pool_rates(quote=pool_currency, on=on)
        for code, quote in found.quotes.items():
            rates[code] = quote.rate
            sources[code] = (quote.source, quote.date)
        stale = {code: day for code, day in found.stale.items() if code in currencies}
    return Pool(pool_currency, rates, sources, minor_units, on, stale=stale)


def _str_ids(rows) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for owner, value in rows:
        out[str(owner)].add(str(value))
    return out


def _str_or_none(value) -> str | None:
    return str(value) if value else None


def _in_pool(rows, pool: Pool, left_out: dict, what: str):
    """(id, capacity in pool minor units, row) of the rows worth matching: those with no rate
    to the pool are counted as left out, those with only dust left are skipped."""
    for r in rows:
        if r["currency_id"] not in pool.rates:
            left_out[f"{what}_no_rate"] += 1
            continue
        capacity = pool.to_pool(r["amount"] - r["committed_amount"], r["currency_id"])
        if capacity >= settings.MATCHING_MIN_UNITS:
            yield str(r["id"]), capacity, r


def load_world(*, now=None) -> World:
    now = now or timezone.now()
    today = now.date()
    pledge_rows = list(
        Pledge.objects.filter(status__in=PLEDGE_LIVE)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .values(
            "id",
            "amount",
            "committed_amount",
            "currency_id",
            "earmark_organization_id",
            "earmark_need_id",
            "expires_at",
        )
    )
    need_rows = list(
        Need.objects.filter(
            status__in=NEED_FUNDABLE,
            # No time zone is a whole day behind UTC; each deadline is then judged in its
            # organization's own day below.
            deadline__gte=today - timedelta(days=1),
            organization__status=OrganizationStatus.VERIFIED,
        ).values(
            "id",
            "amount",
            "committed_amount",
            "currency_id",
            "sector_id",
            "province_id",
            "organization_id",
            "urgency",
            "deadline",
            "organization__time_zone",
        )
    )
    need_rows = [
        r
        for r in need_rows
        if r["deadline"] >= local_date(r.pop("organization__time_zone"), now=now)
    ]
    currencies = {r["currency_id"] for r in pledge_rows} | {r["currency_id"] for r in need_rows}
    pool = load_pool(on=today, currencies=currencies)
    left_out: dict[str, object] = {
        "pledges_no_rate": 0,
        "needs_no_rate": 0,
        "currencies_without_rate": sorted(currencies - set(pool.rates)),
        "stale_rates": {code: day.isoformat() for code, day in sorted(pool.stale.items())},
    }

    pledge_ids = [r["id"] for r in pledge_rows]
    sectors = _str_ids(
        Pledge.earmark_sectors.through.objects.filter(pledge_id__in=pledge_ids).values_list(
            "pledge_id", "sector_id"
        )
    )
    provinces = _str_ids(
        Pledge.earmark_provinces.through.objects.filter(pledge_id__in=pledge_ids).values_list(
            "pledge_id", "province_id"
        )
    )
    declined = _str_ids(
        Allocation.objects.filter(
            status=AllocationStatus.DECLINED, pledge_id__in=pledge_ids
        ).values_list("pledge_id", "need_id")
    )
    pledges, pledge_currency, pledge_remaining = [], {}, {}
    for pid, capacity, r in _in_pool(pledge_rows, pool, left_out, "pledges"):
        pledge_currency[pid] = r["currency_id"]
        pledge_remaining[pid] = r["amount"] - r["committed_amount"]
        pledges.append(
            PledgeIn(
                id=pid,
                capacity=capacity,
                sectors=frozenset(sectors.get(pid, ())),
                provinces=frozenset(provinces.get(pid, ())),
                organization=_str_or_none(r["earmark_organization_id"]),
                need=_str_or_none(r["earmark_need_id"]),
                expires_at=r["expires_at"],
                declined=frozenset(declined.get(pid, ())),
            )
        )
    needs, need_currency = [], {}
    for nid, capacity, r in _in_pool(need_rows, pool, left_out, "needs"):
        need_currency[nid] = r["currency_id"]
        needs.append(
            NeedIn(
                id=nid,
                capacity=capacity,
                sector=r["sector_id"],
                province=r["province_id"],
                organization=str(r["organization_id"]),
                urgency=r["urgency"],
                deadline=r["deadline"],
            )
        )

    current = {
        (str(a.pledge_id), str(a.need_id)): a
        for a in Allocation.objects.filter(status=AllocationStatus.PROPOSED).only(
            "id", "pledge_id", "need_id", "amount", "need_amount", "explanation"
        )
    }
    proposals = [
        Proposal(pledge=p, need=n, amount=pool.to_pool(a.amount, pledge_currency[p]))
        for (p, n), a in current.items()
        if p in pledge_currency and n in need_currency
    ]
    return World(
        pool=pool,
        today=today,
        pledges=pledges,
        needs=needs,
        proposals=[p for p in proposals if p.amount > 0],
        pledge_currency=pledge_currency,
        need_currency=need_currency,
        pledge_remaining=pledge_remaining,
        current=current,
        left_out=left_out,
    )
