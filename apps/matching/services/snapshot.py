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
from django.db import connection
from django.utils import timezone

from aidmatch.lifecycle import NEED_FUNDABLE, PLEDGE_LIVE, AllocationStatus, OrganizationStatus
from aidmatch.matching.types import NeedIn, PledgeIn, Proposal
from aidmatch.money import minor_quantum
from apps.core.dates import local_date
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

    factors: dict[str, Decimal] = field(default_factory=dict)  # rate × 10^minor, per currency

    def to_pool(self, amount: Decimal, currency: str) -> int:
        """Minor units of the pool currency, rounded down (int() rounds toward zero)."""
        factor = self.factors.get(currency)
        if factor is None:
            factor = self.rates[currency].scaleb(self.minor_units[self.currency])
            self.factors[currency] = factor
        return int(amount * factor)

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


@dataclass(frozen=True, slots=True)
class Current:
    """A current proposal as the snapshot saw it (amounts in the pledge's and need's currency)."""

    id: str
    amount: Decimal
    need_amount: Decimal


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
    need_remaining: dict[str, Decimal]  # amount - committed, in the need's currency
    current: dict[tuple[str, str], Current]  # (pledge id, need id) → proposal
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


def _fetch(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _grouped(rows) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for owner, value in rows:
        out[owner].add(value)
    return {k: frozenset(v) for k, v in out.items()}


_LIVE = "p.status = ANY(%(live)s) AND (p.expires_at IS NULL OR p.expires_at > %(now)s)"


def _read_sql(now, today) -> tuple:
    """The world's rows on PostgreSQL: plain queries, ids as text, in order of creation."""
    args = {"live": sorted(map(str, PLEDGE_LIVE)), "now": now}
    pledge_rows = _fetch(
        "SELECT p.id::text, p.amount, p.committed_amount, p.currency_id, "  # noqa: S608
        "p.earmark_organization_id::text, p.earmark_need_id::text, p.expires_at "
        f"FROM pledges_pledge p WHERE {_LIVE} ORDER BY p.created_at, p.id",
        args,
    )
    # No time zone is a whole day behind UTC; each deadline is then judged in its
    # organization's own day below.
    need_rows = _fetch(
        "SELECT n.id::text, n.amount, n.committed_amount, n.currency_id, n.sector_id, "
        "n.province_id, n.organization_id::text, n.urgency, n.deadline, o.time_zone "
        "FROM needs_need n JOIN organizations_organization o ON o.id = n.organization_id "
        "WHERE n.status = ANY(%(fundable)s) AND n.deadline >= %(day_before)s "
        "AND o.status = %(verified)s ORDER BY n.created_at, n.id",
        {
            "fundable": sorted(map(str, NEED_FUNDABLE)),
            "day_before": today - timedelta(days=1),
            "verified": OrganizationStatus.VERIFIED,
        },
    )

    def links(table: str, column: str) -> dict[str, frozenset[str]]:
        # names from this module, never from input
        return _grouped(
            _fetch(
                f"SELECT l.pledge_id::text, l.{column} FROM {table} l "  # noqa: S608
                f"JOIN pledges_pledge p ON p.id = l.pledge_id WHERE {_LIVE}",
                args,
            )
        )

    sectors = links("pledges_pledge_earmark_sectors", "sector_id")
    provinces = links("pledges_pledge_earmark_provinces", "province_id")
    declined = _grouped(
        _fetch(
            "SELECT a.pledge_id::text, a.need_id::text FROM matching_allocation a "  # noqa: S608
            "JOIN pledges_pledge p ON p.id = a.pledge_id "
            f"WHERE a.status = %(declined)s AND {_LIVE}",
            {**args, "declined": AllocationStatus.DECLINED},
        )
    )
    current = _fetch(
        "SELECT id::text, pledge_id::text, need_id::text, amount, need_amount "
        "FROM matching_allocation WHERE status = %s",
        [AllocationStatus.PROPOSED.value],
    )
    return pledge_rows, need_rows, sectors, provinces, declined, current


def _read_orm(now, today) -> tuple:
    """The same rows through the ORM (SQLite, the embedded mode), ids as text."""
    from django.db.models import Q

    from apps.matching.models import Allocation
    from apps.needs.models import Need
    from apps.pledges.models import Pledge

    live = Pledge.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now), status__in=PLEDGE_LIVE
    )
    pledge_rows = [
        (str(pk), amount, committed, cur, org and str(org), need and str(need), expires)
        for pk, amount, committed, cur, org, need, expires in live.order_by(
            "created_at", "pk"
        ).values_list(
            "pk",
            "amount",
            "committed_amount",
            "currency_id",
            "earmark_organization_id",
            "earmark_need_id",
            "expires_at",
        )
    ]
    need_rows = [
        (str(r[0]), *r[1:6], str(r[6]), *r[7:])
        for r in Need.objects.filter(
            status__in=NEED_FUNDABLE,
            deadline__gte=today - timedelta(days=1),
            organization__status=OrganizationStatus.VERIFIED,
        )
        .order_by("created_at", "pk")
        .values_list(
            "pk",
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
    ]
    live_ids = live.values("pk")

    def pairs(queryset, *names) -> dict[str, frozenset[str]]:
        return _grouped((str(a), str(b)) for a, b in queryset.values_list(*names))

    sectors = pairs(
        Pledge.earmark_sectors.through.objects.filter(pledge_id__in=live_ids),
        "pledge_id",
        "sector_id",
    )
    provinces = pairs(
        Pledge.earmark_provinces.through.objects.filter(pledge_id__in=live_ids),
        "pledge_id",
        "province_id",
    )
    declined = pairs(
        Allocation.objects.filter(status=AllocationStatus.DECLINED, pledge_id__in=live_ids),
        "pledge_id",
        "need_id",
    )
    current = [
        (str(pk), str(p), str(n), a, na)
        for pk, p, n, a, na in Allocation.objects.filter(
            status=AllocationStatus.PROPOSED
        ).values_list("pk", "pledge_id", "need_id", "amount", "need_amount")
    ]
    return pledge_rows, need_rows, sectors, provinces, declined, current


def load_world(*, now=None) -> World:
    """The world in seven plain queries (tuples, no model instances), ordered by each row's
    creation (then id): a pledge's or need's ``rank`` is its place in that order, the stable
    tie-break the solver uses when weights are equal."""
    now = now or timezone.now()
    today = now.date()
    read = _read_sql if connection.vendor == "postgresql" else _read_orm
    pledge_rows, need_rows, sectors, provinces, declined, current_rows = read(now, today)
    local_today: dict[str, date] = {}
    for zone in {r[9] for r in need_rows}:
        local_today[zone] = local_date(zone, now=now)
    need_rows = [r for r in need_rows if r[8] >= local_today[r[9]]]
    currencies = {r[3] for r in pledge_rows} | {r[3] for r in need_rows}
    pool = load_pool(on=today, currencies=currencies)
    left_out: dict[str, object] = {
        "pledges_no_rate": 0,
        "needs_no_rate": 0,
        "currencies_without_rate": sorted(currencies - set(pool.rates)),
        "stale_rates": {code: day.isoformat() for code, day in sorted(pool.stale.items())},
    }
    dust = settings.MATCHING_MIN_UNITS
    pledges, pledge_currency, pledge_remaining = [], {}, {}
    for rank, (pid, amount, committed, currency, org, need, expires_at) in enumerate(pledge_rows):
        if currency not in pool.rates:
            left_out["pledges_no_rate"] += 1
            continue
        remaining = amount - committed
        capacity = pool.to_pool(remaining, currency)
        if capacity < dust:
            continue
        pledge_currency[pid] = currency
        pledge_remaining[pid] = remaining
        pledges.append(
            PledgeIn(
                id=pid,
                capacity=capacity,
                sectors=sectors.get(pid, frozenset()),
                provinces=provinces.get(pid, frozenset()),
                organization=org,
                need=need,
                expires_at=expires_at,
                declined=declined.get(pid, frozenset()),
                rank=rank,  # the solver's stable tie-break
            )
        )
    needs, need_currency, need_remaining = [], {}, {}
    for rank, (
        nid,
        amount,
        committed,
        currency,
        sector,
        province,
        org,
        urgency,
        deadline,
        _,
    ) in enumerate(need_rows):
        if currency not in pool.rates:
            left_out["needs_no_rate"] += 1
            continue
        remaining = amount - committed
        capacity = pool.to_pool(remaining, currency)
        if capacity < dust:
            continue
        need_currency[nid] = currency
        need_remaining[nid] = remaining
        needs.append(
            NeedIn(
                id=nid,
                capacity=capacity,
                sector=sector,
                province=province,
                organization=org,
                urgency=urgency,
                deadline=deadline,
                rank=rank,  # the solver's stable tie-break
            )
        )

    current = {
        (pid, nid): Current(aid, amount, need_amount)
        for aid, pid, nid, amount, need_amount in current_rows
    }
    proposals = []
    for (p, n), a in current.items():
        if p in pledge_currency and n in need_currency:
            units = pool.to_pool(a.amount, pledge_currency[p])
            if units > 0:
                proposals.append(Proposal(pledge=p, need=n, amount=units))
    return World(
        pool=pool,
        today=today,
        pledges=pledges,
        needs=needs,
        proposals=proposals,
        pledge_currency=pledge_currency,
        need_currency=need_currency,
        pledge_remaining=pledge_remaining,
        need_remaining=need_remaining,
        current=current,
        left_out=left_out,
    )
