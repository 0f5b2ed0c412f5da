"""Writes of exchange rates: record one snapshot, or load many from a file. Snapshots are never
changed or deleted: a correction is a new snapshot with a later date or another source."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.db import connection, transaction
from django.utils.translation import gettext_noop as _

from aidmatch.errors import DomainError, RuleViolation, StateConflict
from aidmatch.fx import RATE_QUANTUM, InvalidRateFile, RateRow, parse_csv, parse_source
from apps.fx.models import ExchangeRate
from apps.reference.models import Currency

LOAD_BATCH = 500
SAMPLE_RATES = Path(__file__).resolve().parent / "data" / "sample_rates.csv"


class RateConflict(StateConflict):
    code = "exchange_rate_exists"
    title = _("This exchange-rate snapshot already exists")


def _conflict_message(row: RateRow, existing: Decimal) -> str:
    return (
        f"1 {row.base} = {existing} {row.quote} on {row.date} from '{row.source}' is already "
        f"recorded (not {row.rate}); snapshots are never changed: record a correction with a "
        "later date or another source."
    )


UNKNOWN_CURRENCY = {
    "base": _("Unknown currency '%(base)s'."),
    "quote": _("Unknown currency '%(quote)s'."),
}


def _check_rate(*, base: str, quote: str, rate: Decimal) -> None:
    errors: dict[str, list[str]] = {}
    known = set(Currency.objects.filter(code__in=[base, quote]).values_list("code", flat=True))
    for name, code in (("base", base), ("quote", quote)):
        if code not in known:
            errors[name] = [UNKNOWN_CURRENCY[name]]
    if base == quote:
        errors["quote"] = [_("The quote currency must differ from the base currency.")]
    if not rate.is_finite() or rate <= 0 or rate != rate.quantize(RATE_QUANTUM):
        errors["rate"] = [_("A rate is greater than zero, with at most 10 decimal places.")]
    if errors:
        raise RuleViolation(
            next(iter(errors.values()))[0], errors=errors, params={"base": base, "quote": quote}
        )


@transaction.atomic
def exchange_rate_create(
    *, base: str, quote: str, rate: Decimal, date: date, source: str, created_by=None
) -> ExchangeRate:
    """Record one snapshot; the same pair, date and source a second time is a 409."""
    _check_rate(base=base, quote=quote, rate=rate)
    source = parse_source(source)
    existing = ExchangeRate.objects.filter(
        base_id=base, quote_id=quote, date=date, source=source
    ).first()
    if existing is not None:
        row = RateRow(base, quote, rate, date, source)
        if existing.rate != rate:
            raise RateConflict(
                _(
                    "1 %(base)s = %(existing)s %(quote)s on %(date)s from '%(source)s' is already "
                    "recorded (not %(rate)s); snapshots are never changed: record a correction "
                    "with a later date or another source."
                ),
                params={
                    "base": row.base,
                    "quote": row.quote,
                    "existing": existing.rate,
                    "rate": row.rate,
                    "date": row.date,
                    "source": row.source,
                },
            )
        raise RateConflict(
            _("This snapshot (#%(id)s) is already recorded."), params={"id": existing.pk}
        )
    return ExchangeRate.objects.create(
        base_id=base, quote_id=quote, rate=rate, date=date, source=source, created_by=created_by
    )


@dataclass(frozen=True)
class LoadResult:
    created: int
    unchanged: int


@transaction.atomic
def exchange_rates_load(
    *,
    rows: Sequence[RateRow],
    created_by=None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadResult:
    """Upsert validated rows in one transaction: new snapshots are created, identical ones left
    alone (so a re-run changes nothing); a row that would change a recorded rate is refused, with
    every such row listed in ``errors`` by its index in ``rows``, and nothing is written.

    Loads take a table lock that lets reads through but holds other writers back, so the
    created/unchanged counts are exact and two loads never interleave."""
    codes = {r.base for r in rows} | {r.quote for r in rows}
    known = set(Currency.objects.filter(code__in=codes).values_list("code", flat=True))
    invalid = {
        str(i): [f"Unknown currency or invalid rate in {r.base}/{r.quote} = {r.rate}."]
        for i, r in enumerate(rows)
        if {r.base, r.quote} - known or r.base == r.quote or not r.rate > 0
    }
    if invalid:
        raise RuleViolation(next(iter(invalid.values()))[0], errors=invalid)
    if connection.vendor == "postgresql":  # SQLite's IMMEDIATE transactions serialize writes
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {ExchangeRate._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
    recorded: dict[tuple, Decimal] = {}
    if rows:
        candidates = ExchangeRate.objects.filter(
            date__in={r.date for r in rows},
            base_id__in={r.base for r in rows},
            quote_id__in={r.quote for r in rows},
        ).values_list("base_id", "quote_id", "date", "source", "rate")
        recorded = {(b, q, d, s): rate for b, q, d, s, rate in candidates}
    conflicts: dict[str, list[str]] = {}
    new: dict[tuple, RateRow] = {}
    unchanged = 0
    for index, row in enumerate(rows):
        previous = recorded.get(row.key, new[row.key].rate if row.key in new else None)
        if previous is None:
            new[row.key] = row
        elif previous == row.rate:
            unchanged += 1
        else:
            conflicts[str(index)] = [_conflict_message(row, previous)]
    if conflicts:
        first = next(iter(conflicts.values()))[0]
        raise RateConflict(first, errors=conflicts)
    pending = list(new.values())
    for start in range(0, len(pending), LOAD_BATCH):
        batch = pending[start : start + LOAD_BATCH]
        ExchangeRate.objects.bulk_create(
            ExchangeRate(
                base_id=r.base,
                quote_id=r.quote,
                rate=r.rate,
                date=r.date,
                source=r.source,
                created_by=created_by,
            )
            for r in batch
        )
        if progress is not None:
            progress(start + len(batch), len(pending))
    return LoadResult(created=len(pending), unchanged=unchanged)


def exchange_rates_load_file(
    *,
    path: Path,
    created_by=None,
    progress: Callable[[int, int], None] | None = None,
    on_read: Callable[[int], None] | None = None,
) -> LoadResult:
    """Validate every row of a CSV of rates (base,quote,rate,date,source; header required), then
    load them with :func:`exchange_rates_load`. Any problem, in the file or against recorded
    snapshots, raises InvalidRateFile listing each by line number; nothing is written then."""
    known = set(Currency.objects.values_list("code", flat=True))
    try:
        with Path(path).open(encoding="utf-8-sig", newline="") as handle:
            numbered = parse_csv(handle, known)
    except UnicodeDecodeError as exc:
        raise InvalidRateFile([f"the file is not UTF-8 text ({exc.reason})"]) from None
    if on_read is not None:
        on_read(len(numbered))
    try:
        return exchange_rates_load(
            rows=[row for _n, row in numbered], created_by=created_by, progress=progress
        )
    except DomainError as exc:
        problems = [f"line {numbered[int(i)][0]}: {msgs[0]}" for i, msgs in exc.errors.items()]
        raise InvalidRateFile(problems or [exc.detail]) from None


def exchange_rates_carry_forward(
    *, path: Path, on: date, source: str, created_by=None
) -> LoadResult:
    """Record the newest rate of each pair in a CSV of rates (dated on or before ``on``) again,
    dated ``on``, from ``source``: the demo does this with the sample rates, so that its
    conversions and matching find rates younger than FX_MAX_RATE_AGE_DAYS on any day it runs.
    Safe to repeat (the same day's copies are left alone)."""
    known = set(Currency.objects.values_list("code", flat=True))
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        rows = [row for _n, row in parse_csv(handle, known)]
    newest: dict[tuple[str, str], RateRow] = {}
    for row in rows:
        current = newest.get((row.base, row.quote))
        if row.date <= on and (current is None or row.date >= current.date):
            newest[row.base, row.quote] = row
    source = parse_source(source)
    copies = [RateRow(r.base, r.quote, r.rate, on, source) for _k, r in sorted(newest.items())]
    return exchange_rates_load(rows=copies, created_by=created_by)
