"""Money: a Decimal with an ISO 4217 currency, quantized to the currency's minor unit.

No floats anywhere: amounts come in as strings or Decimals and leave as strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Protocol

from aidmatch.errors import RuleViolation
from aidmatch.i18n import gettext_noop as _


class AmountError(RuleViolation):
    code = "invalid_amount"
    title = _("Invalid amount")


def minor_quantum(minor_unit: int) -> Decimal:
    """The smallest amount of a currency with ``minor_unit`` decimals (2 → Decimal('0.01'))."""
    try:
        return _QUANTA[minor_unit]
    except KeyError:
        return _QUANTA.setdefault(minor_unit, Decimal(1).scaleb(-minor_unit))


_QUANTA: dict[int, Decimal] = {}  # minor unit → its quantum (Decimals are immutable)


class CurrencyLike(Protocol):
    """Anything with an ISO 4217 ``code`` and its ``minor_unit`` (a Currency row, CurrencyUnit)."""

    @property
    def code(self) -> str: ...

    @property
    def minor_unit(self) -> int: ...


@dataclass(frozen=True, slots=True)
class CurrencyUnit:
    code: str
    minor_unit: int


# How an amount leaves the service: a plain decimal string, never an exponent.
AMOUNT_PATTERN = r"^-?[0-9]+(\.[0-9]{1,4})?$"


def amount_text(amount: Decimal | int, minor_unit: int) -> str:
    """``amount`` written with exactly the currency's ``minor_unit`` decimals: "1000.00" for
    USD (never "1000.0000"), "0.00" for zero, "1500" for JPY, "1.250" for KWD.

    Amounts are stored exactly, so quantizing changes only trailing zeros; should a value ever
    carry more digits than its currency has, it is rounded half-even rather than cut.
    """
    quantized = Decimal(amount).quantize(minor_quantum(minor_unit), rounding=ROUND_HALF_EVEN)
    if quantized == 0:
        quantized = abs(quantized)  # never "-0.00"
    return format(quantized, "f")


def format_money(amount: Decimal | int, currency: CurrencyLike) -> str:
    """An amount and its currency for a message: "884.93 USD", "63408.00 AFN", "1500 JPY"."""
    return f"{amount_text(amount, currency.minor_unit)} {currency.code}"


def parse_amount(
    value: str | int | Decimal, minor_unit: int, *, allow_zero: bool = False
) -> Decimal:
    """A positive amount with at most ``minor_unit`` decimals, or AmountError.

    Over-precise amounts are refused rather than rounded: a donor who types 10.005 USD has
    made a mistake that rounding would hide.
    """
    if isinstance(value, float | bool):
        raise AmountError(_("Amounts are sent as strings, not floating-point numbers."))
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise AmountError(_("'%(value)s' is not a number."), params={"value": value}) from None
    if not amount.is_finite():
        raise AmountError(_("Amounts must be finite numbers."))
    if amount < 0 or (amount == 0 and not allow_zero):
        raise AmountError(_("Amounts must be greater than zero."))
    quantum = minor_quantum(minor_unit)
    try:
        quantized = amount.quantize(quantum, rounding=ROUND_DOWN)
    except InvalidOperation:  # more digits than the decimal context holds
        raise AmountError(_("The amount is too large.")) from None
    if amount != quantized:
        raise AmountError(
            _("At most %(places)s decimal places are allowed for this currency."),
            params={"places": minor_unit},
        )
    return quantized


def to_minor(amount: Decimal, minor_unit: int) -> int:
    """An exact amount in minor units (Decimal('12.34'), 2 → 1234)."""
    scaled = amount.scaleb(minor_unit)
    if scaled != scaled.to_integral_value():
        raise AmountError(
            _("%(amount)s has more than %(places)s decimal places."),
            params={"amount": amount, "places": minor_unit},
        )
    return int(scaled)


def from_minor(units: int, minor_unit: int) -> Decimal:
    return Decimal(units).scaleb(-minor_unit).quantize(minor_quantum(minor_unit))


def convert(amount: Decimal, rate: Decimal, minor_unit: int) -> Decimal:
    """``amount`` × ``rate`` rounded down to the target's minor unit.

    Rounding toward zero means the receiving side never gets more than was pledged.
    """
    return (amount * rate).quantize(minor_quantum(minor_unit), rounding=ROUND_DOWN)


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError("Money.amount must be a Decimal")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"Cannot combine {self.currency} with {other.currency}")

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
