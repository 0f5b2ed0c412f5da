"""Exchange rates: choosing a dated snapshot, inverse and cross rates, and reading rates from text.

A *snapshot* says "on ``date``, ``source`` quoted 1 ``base`` = ``rate`` ``quote``". Conversion on a
day uses the latest snapshot dated on or before that day, by these rules (one place, no Django):

1. The same currency converts at exactly 1 (source ``identity``, no date).
2. Direct (base→quote) and inverse (quote→base) snapshots compete: the latest date wins; on the
   same date a direct snapshot wins over an inverse one, and among several sources the one
   recorded last (highest ``seq``) wins, since a correction is a new snapshot from another source.
   An inverse rate is 1/rate rounded DOWN at 10 decimal places.
3. With neither, a cross rate through USD (base→USD × USD→quote, each leg by rule 2), rounded
   DOWN at 10 places; its date is the older leg's date and its source names both legs.
4. Otherwise :class:`NoExchangeRate` (HTTP 422).

With a maximum age (``max_age_days``; the service passes ``FX_MAX_RATE_AGE_DAYS``), a rate dated
more than that many days before the day of the conversion is not used: a pair whose own newest
rate is too old converts through USD when both legs are fresh, and otherwise the conversion is
refused with :class:`StaleExchangeRate` (HTTP 422), naming the pair and the newest rate's date.

Every rounding goes down, and amounts are then rounded down to the quote currency's minor unit
(``aidmatch.money.convert``): the receiving side never gets more than was pledged.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal, localcontext

from aidmatch.errors import RuleViolation
from aidmatch.i18n import gettext_noop as _

RATE_MAX_DIGITS = 24
RATE_PLACES = 10
RATE_INTEGER_DIGITS = RATE_MAX_DIGITS - RATE_PLACES
RATE_QUANTUM = Decimal(1).scaleb(-RATE_PLACES)
PIVOT = "USD"
IDENTITY_SOURCE = "identity"
SOURCE_MAX_LENGTH = 100

_PLAIN_RATE = re.compile(rf"^[0-9]{{1,{RATE_INTEGER_DIGITS}}}(\.[0-9]{{1,{RATE_PLACES}}})?$")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class NoExchangeRate(RuleViolation):
    """No snapshot (direct, inverse or through USD) converts ``base`` to ``quote`` on the day."""

    code = "no_exchange_rate"
    title = _("No exchange rate")

    def __init__(
        self,
        detail: str | None = None,
        *,
        base: str | None = None,
        quote: str | None = None,
        on: date | None = None,
    ) -> None:
        params: dict[str, object] = {"base": base, "quote": quote, "pivot": PIVOT}
        if detail is None and on:
            detail = _(
                "There is no exchange rate from %(base)s to %(quote)s on or before %(on)s "
                "(directly, inverted, or through %(pivot)s)."
            )
            params["on"] = on.isoformat()
        elif detail is None:
            detail = _(
                "There is no exchange rate from %(base)s to %(quote)s "
                "(directly, inverted, or through %(pivot)s)."
            )
        super().__init__(detail, params=params)
        self.base, self.quote, self.on = base, quote, on


class StaleExchangeRate(NoExchangeRate):
    """Rates convert ``base`` to ``quote``, but the newest is older than the maximum age."""

    code = "stale_exchange_rate"
    title = _("Exchange rate too old")

    def __init__(
        self, *, base: str, quote: str, on: date, rate_date: date, max_age_days: int
    ) -> None:
        detail = (
            _(
                "The newest exchange rate from %(base)s to %(quote)s (directly or inverted) is "
                "dated %(rate_date)s, more than %(max_age_days)s days before %(on)s: a verifier "
                "must record a newer rate before it can be used."
            )
            if PIVOT in (base, quote)
            else _(
                "The newest exchange rate from %(base)s to %(quote)s (directly, inverted or "
                "through %(pivot)s) is dated %(rate_date)s, more than %(max_age_days)s days "
                "before %(on)s: a verifier must record a newer rate before it can be used."
            )
        )
        RuleViolation.__init__(
            self,
            detail,
            params={
                "base": base,
                "quote": quote,
                "pivot": PIVOT,
                "rate_date": rate_date.isoformat(),
                "max_age_days": max_age_days,
                "on": on.isoformat(),
            },
        )
        self.base, self.quote, self.on = base, quote, on
        self.rate_date, self.max_age_days = rate_date, max_age_days

    @property
    def extensions(self) -> dict[str, object]:
        """Members added to the problem body (RFC 9457 extensions)."""
        return {
            "base": self.base,
            "quote": self.quote,
            "on": self.on.isoformat() if self.on else None,
            "rate_date": self.rate_date.isoformat(),
            "max_age_days": self.max_age_days,
        }


class InvalidRate(RuleViolation):
    code = "invalid_rate"
    title = _("Invalid exchange rate")


@dataclass(frozen=True, slots=True)
class Quote:
    """The rate used for a conversion: 1 base = ``rate`` quote, from ``source`` dated ``date``."""

    rate: Decimal
    source: str
    date: date | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One stored rate. ``seq`` orders snapshots recorded on the same date (later wins)."""

    base: str
    quote: str
    rate: Decimal
    date: date
    source: str
    seq: int = 0


Pair = tuple[str, str]


def identity() -> Quote:
    return Quote(Decimal(1), IDENTITY_SOURCE, None)


def _round_down(value: Decimal) -> Decimal:
    return value.quantize(RATE_QUANTUM, rounding=ROUND_DOWN)


def invert(rate: Decimal) -> Decimal:
    """1/``rate`` rounded down at 10 places (exactly: the division itself truncates)."""
    if rate <= 0:
        raise InvalidRate(_("An exchange rate must be greater than zero."))
    with localcontext(prec=60, rounding=ROUND_DOWN):
        inverse = Decimal(1) / rate
        return _round_down(inverse)


def multiply(first: Decimal, second: Decimal) -> Decimal:
    """``first`` × ``second`` rounded down at 10 places."""
    with localcontext(prec=60, rounding=ROUND_DOWN):
        return _round_down(first * second)


def latest_by_pair(snapshots: Iterable[Snapshot], on: date) -> dict[Pair, Snapshot]:
    """The latest snapshot dated on or before ``on`` for each (base, quote) pair."""
    best: dict[Pair, Snapshot] = {}
    for snap in snapshots:
        if snap.date > on:
            continue
        key = (snap.base, snap.quote)
        current = best.get(key)
        if current is None or (snap.date, snap.seq) > (current.date, current.seq):
            best[key] = snap
    return best


def _pair_quote(base: str, quote: str, latest: Mapping[Pair, Snapshot]) -> Quote | None:
    """Rule 2: the newer of the direct and the inverted snapshot (direct on a tie)."""
    direct = latest.get((base, quote))
    inverse = latest.get((quote, base))
    if direct is not None and (inverse is None or direct.date >= inverse.date):
        return Quote(direct.rate, direct.source, direct.date)
    if inverse is not None:
        rate = invert(inverse.rate)
        if rate > 0:  # a rate so large its inverse rounds to 0 at 10 places converts nothing
            return Quote(rate, inverse.source, inverse.date)
    if direct is not None:
        return Quote(direct.rate, direct.source, direct.date)
    return None


def _cross_source(first: Quote, second: Quote) -> str:
    if first.source == second.source:
        source = f"{first.source} (via {PIVOT})"
    else:
        source = f"{first.source} × {second.source} (via {PIVOT})"
    return source[:SOURCE_MAX_LENGTH]


def _older(first: date | None, second: date | None) -> date | None:
    dates = [d for d in (first, second) if d is not None]
    return min(dates) if dates else None


def oldest_allowed(on: date, max_age_days: int | None) -> date | None:
    """The oldest date a rate may have to be used on ``on`` (None: any age)."""
    return None if max_age_days is None else on - timedelta(days=max_age_days)


def _fresh(found: Quote, oldest: date | None) -> bool:
    return oldest is None or found.date is None or found.date >= oldest


def _cross(base: str, quote: str, latest: Mapping[Pair, Snapshot]) -> Quote | None:
    """Rule 3: its date is the older leg's, so a fresh cross rate has two fresh legs."""
    to_pivot = _pair_quote(base, PIVOT, latest)
    from_pivot = _pair_quote(PIVOT, quote, latest)
    if to_pivot is None or from_pivot is None:
        return None
    rate = multiply(to_pivot.rate, from_pivot.rate)
    if rate <= 0:
        return None
    return Quote(rate, _cross_source(to_pivot, from_pivot), _older(to_pivot.date, from_pivot.date))


def quote_from(
    base: str,
    quote: str,
    latest: Mapping[Pair, Snapshot],
    *,
    on: date | None = None,
    max_age_days: int | None = None,
) -> Quote | None:
    """Rules 1–3 over ``latest`` (from :func:`latest_by_pair`); None when nothing converts.

    With ``max_age_days`` (and ``on``), only rates dated at most that many days before ``on``
    are used (a cross rate's date is its older leg's, so both legs must be fresh); when only
    older ones would convert, :class:`StaleExchangeRate` names the newest one's date."""
    if base == quote:
        return identity()
    oldest = oldest_allowed(on, max_age_days) if on is not None else None
    candidates = []
    found = _pair_quote(base, quote, latest)
    if found is not None:
        candidates.append(found)
        if _fresh(found, oldest):
            return found
    if PIVOT not in (base, quote):
        cross = _cross(base, quote, latest)
        if cross is not None:
            candidates.append(cross)
            if _fresh(cross, oldest):
                return cross
    if not candidates:
        return None
    newest = max(c.date for c in candidates if c.date is not None)
    raise StaleExchangeRate(
        base=base, quote=quote, on=on, rate_date=newest, max_age_days=max_age_days
    )


def resolve(
    base: str,
    quote: str,
    on: date,
    snapshots: Iterable[Snapshot],
    *,
    max_age_days: int | None = None,
) -> Quote:
    """The quote converting ``base`` to ``quote`` on ``on``, or NoExchangeRate (or
    StaleExchangeRate when the only rates are older than ``max_age_days``)."""
    found = quote_from(base, quote, latest_by_pair(snapshots, on), on=on, max_age_days=max_age_days)
    if found is None:
        raise NoExchangeRate(base=base, quote=quote, on=on)
    return found


@dataclass(frozen=True, slots=True)
class PoolRates:
    """Rates of every currency to one quote currency on a day: the usable ``quotes`` by code, and
    the currencies whose rates are all too old, with the newest one's date (``stale``)."""

    quotes: dict[str, Quote]
    stale: dict[str, date]


def pool_rates(
    quote: str, on: date, snapshots: Iterable[Snapshot], *, max_age_days: int | None = None
) -> PoolRates:
    """Every currency that converts to ``quote`` on ``on`` (``quote`` itself at 1), by code, and
    those that would but for the age of their rates."""
    latest = latest_by_pair(snapshots, on)
    codes = {quote} | {c for pair in latest for c in pair}
    quotes: dict[str, Quote] = {}
    stale: dict[str, date] = {}
    for code in sorted(codes):
        try:
            found = quote_from(code, quote, latest, on=on, max_age_days=max_age_days)
        except StaleExchangeRate as exc:
            stale[code] = exc.rate_date
            continue
        if found is not None:
            quotes[code] = found
    return PoolRates(quotes, stale)


def rates_to(
    quote: str, on: date, snapshots: Iterable[Snapshot], *, max_age_days: int | None = None
) -> dict[str, Quote]:
    """Every currency that converts to ``quote`` on ``on`` (``quote`` itself at 1), by code."""
    return pool_rates(quote, on, snapshots, max_age_days=max_age_days).quotes


# --- Reading rates from text (the CSV loader and the API share these rules) ---------------------


def parse_rate(value: object) -> Decimal:
    """A positive rate written as a plain decimal with at most 14 integer digits and 10 places.

    Floats, exponents ("1e3"), signs, separators ("1,5", "1_000"), NaN/Infinity and the long
    tails of binary floats ("0.30000000000000004") are refused rather than rounded.
    """
    if isinstance(value, float | bool):
        raise InvalidRate(_('Send rates as strings (e.g. "72.5"), not floating-point numbers.'))
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise InvalidRate(_("A rate is a plain decimal number."))
    text = value.strip()
    if re.match(r"^-[0-9]+(\.[0-9]+)?$", text):
        raise InvalidRate(_("An exchange rate must be greater than zero."))
    if not _PLAIN_RATE.match(text):
        if re.match(r"^[0-9]+\.[0-9]+$", text) and len(text.split(".")[1]) > RATE_PLACES:
            raise InvalidRate(
                _("At most %(places)s decimal places are allowed in a rate."),
                params={"places": RATE_PLACES},
            )
        if re.match(r"^[0-9]+(\.[0-9]+)?$", text):
            raise InvalidRate(
                _("At most %(digits)s digits before the decimal point."),
                params={"digits": RATE_INTEGER_DIGITS},
            )
        raise InvalidRate(
            _("'%(value)s' is not a plain decimal number (e.g. 72.5)."), params={"value": value}
        )
    rate = Decimal(text)
    if rate <= 0:
        raise InvalidRate(_("An exchange rate must be greater than zero."))
    return rate


def parse_date(value: object) -> date:
    """An ISO 8601 calendar date, YYYY-MM-DD."""
    text = value.strip() if isinstance(value, str) else ""
    if not _ISO_DATE.match(text):
        raise InvalidRate(
            _("'%(value)s' is not a date written as YYYY-MM-DD."), params={"value": value}
        )
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidRate(
            _("'%(value)s' is not a real calendar date."), params={"value": value}
        ) from None


def parse_source(value: object) -> str:
    text = " ".join(value.split()) if isinstance(value, str) else ""
    if not text:
        raise InvalidRate(_("A source is required (e.g. 'UN operational rates')."))
    if len(text) > SOURCE_MAX_LENGTH:
        raise InvalidRate(
            _("A source has at most %(length)s characters."), params={"length": SOURCE_MAX_LENGTH}
        )
    return text


@dataclass(frozen=True, slots=True)
class RateRow:
    base: str
    quote: str
    rate: Decimal
    date: date
    source: str

    @property
    def key(self) -> tuple[str, str, date, str]:
        return (self.base, self.quote, self.date, self.source)


def parse_row(fields: Mapping[str, object], known_currencies: set[str]) -> RateRow:
    """One row of rates (base, quote, rate, date, source), or InvalidRate naming every problem."""
    problems: list[str] = []
    codes: dict[str, str] = {}
    for name in ("base", "quote"):
        raw = fields.get(name)
        code = raw.strip().upper() if isinstance(raw, str) else ""
        if not _CURRENCY.match(code) or code not in known_currencies:
            problems.append(f"{name}: unknown currency '{raw}'")
        codes[name] = code
    if codes["base"] and codes["base"] == codes["quote"]:
        problems.append("quote: must differ from base")
    parsed: dict[str, object] = {}
    for name, parse in (("rate", parse_rate), ("date", parse_date), ("source", parse_source)):
        try:
            parsed[name] = parse(fields.get(name))
        except InvalidRate as exc:
            problems.append(f"{name}: {exc.detail}")
    if problems:
        raise InvalidRate("; ".join(problems))
    return RateRow(
        base=codes["base"],
        quote=codes["quote"],
        rate=parsed["rate"],  # type: ignore[arg-type]
        date=parsed["date"],  # type: ignore[arg-type]
        source=parsed["source"],  # type: ignore[arg-type]
    )


CSV_COLUMNS = ("base", "quote", "rate", "date", "source")


class InvalidRateFile(RuleViolation):
    """A file of rates with problems; ``problems`` lists each as "line N: …"."""

    code = "invalid_rate_file"
    title = _("Invalid file of exchange rates")

    def __init__(self, problems: list[str]) -> None:
        # The problems themselves ("line N: …") stay in English: they quote the file.
        super().__init__(
            _("%(count)s problem(s): %(problems)s"),
            params={"count": len(problems), "problems": "; ".join(problems[:3])},
        )
        self.problems = problems


def parse_csv(lines: Iterable[str], known_currencies: set[str]) -> list[tuple[int, RateRow]]:
    """Every row of a CSV of rates with its line number, or InvalidRateFile listing every problem.

    The header is required and names exactly the columns base, quote, rate, date, source (in any
    order); blank lines are skipped.
    """

    reader = csv.reader(lines)
    problems: list[str] = []
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InvalidRateFile([f"line 1: {exc}"]) from None
    names = [h.strip().lower() for h in header] if header else []
    missing = [c for c in CSV_COLUMNS if c not in names]
    unknown = [n for n in names if n not in CSV_COLUMNS]
    if not names or missing or unknown or len(set(names)) != len(names):
        problems.append(
            "line 1: the header must name the columns "
            + ",".join(CSV_COLUMNS)
            + (f" (missing: {', '.join(missing)})" if missing else "")
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
        raise InvalidRateFile(problems)
    rows: list[tuple[int, RateRow]] = []
    first_seen: dict[tuple, tuple[int, Decimal]] = {}
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(f"line {reader.line_num}: {exc}")
            break
        line = reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(names):
            problems.append(f"line {line}: expected {len(names)} fields, found {len(fields)}")
            continue
        try:
            row = parse_row(dict(zip(names, fields, strict=True)), known_currencies)
        except InvalidRate as exc:
            problems.append(f"line {line}: {exc.detail}")
            continue
        earlier = first_seen.setdefault(row.key, (line, row.rate))
        if earlier[1] != row.rate:
            problems.append(
                f"line {line}: repeats {row.base}/{row.quote} on {row.date} from "
                f"'{row.source}' (line {earlier[0]}) with another rate"
            )
            continue
        rows.append((line, row))
    if problems:
        raise InvalidRateFile(problems)
    return rows
