"""Reads of exchange rates. Matching and disbursements convert through ``rate_on``/``convert``;
a matching run converts a whole pool through ``rates_to`` (one query, whatever the pool's size).
The arithmetic (which snapshot, inverse, cross through USD, rounding down) is in ``aidmatch.fx``.
"""

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_noop as _

from aidmatch import fx
from aidmatch.fx import NoExchangeRate, Quote
from aidmatch.money import convert as convert_amount
from apps.fx.models import ExchangeRate
from apps.reference.models import Currency


def exchange_rates() -> QuerySet[ExchangeRate]:
    """Every snapshot, newest first (base and quote are currency codes: no joins needed)."""
    return ExchangeRate.objects.all()


def _latest_snapshots(pairs_filter: Q, on: date) -> Iterable[fx.Snapshot]:
    """The latest snapshot on or before ``on`` of each (base, quote) pair matching the filter."""
    rows = ExchangeRate.objects.filter(pairs_filter, date__lte=on).order_by(
        "base_id", "quote_id", "-date", "-id"
    )
    if connection.vendor == "postgresql":
        rows = rows.distinct("base_id", "quote_id")  # DISTINCT ON: one row per pair
    latest = {}
    for b, q, rate, day, source, seq in rows.values_list(
        "base_id", "quote_id", "rate", "date", "source", "id"
    ):
        latest.setdefault((b, q), fx.Snapshot(b, q, rate, day, source, seq))
    return list(latest.values())


def max_rate_age_days() -> int:
    """How old (in days before the day of a conversion) a rate may be: FX_MAX_RATE_AGE_DAYS."""
    return settings.FX_MAX_RATE_AGE_DAYS


def rate_on(*, base: str, quote: str, on: date) -> Quote:
    """1 ``base`` = ``rate`` ``quote`` on ``on`` (see ``aidmatch.fx`` for the rules), in one
    query; raises NoExchangeRate (422) when no snapshot converts the pair, StaleExchangeRate
    (422) when the only ones are older than FX_MAX_RATE_AGE_DAYS."""
    if base == quote:
        return fx.identity()
    codes = {base, quote, fx.PIVOT}
    snapshots = _latest_snapshots(Q(base_id__in=codes, quote_id__in=codes), on)
    return fx.resolve(base, quote, on, snapshots, max_age_days=max_rate_age_days())


def convert(*, amount: Decimal, base: str, quote: str, on: date) -> tuple[Decimal, Quote]:
    """``amount`` of ``base`` in ``quote`` on ``on``, rounded DOWN to the quote currency's minor
    unit (the receiver never gets more), with the quote used."""
    used = rate_on(base=base, quote=quote, on=on)
    minor_unit = Currency.objects.filter(code=quote).values_list("minor_unit", flat=True).first()
    if minor_unit is None:
        raise NoExchangeRate(_("Unknown currency '%(quote)s'."), base=base, quote=quote, on=on)
    return convert_amount(amount, used.rate, minor_unit), used


def pool_rates(*, quote: str, on: date) -> fx.PoolRates:
    """Every currency code that converts to ``quote`` on ``on`` (``quote`` itself at 1) with a
    rate no older than FX_MAX_RATE_AGE_DAYS, with its quote, and those whose rates are all too
    old, in one query: the latest snapshot of each pair touching ``quote`` or USD."""
    touching = {quote, fx.PIVOT}
    snapshots = _latest_snapshots(Q(base_id__in=touching) | Q(quote_id__in=touching), on)
    return fx.pool_rates(quote, on, snapshots, max_age_days=max_rate_age_days())


def rates_to(*, quote: str, on: date) -> dict[str, Quote]:
    """The usable quotes of :func:`pool_rates`."""
    return pool_rates(quote=quote, on=on).quotes
