"""A donor's giving statement for a year, in plain Python: its lines and their totals.

A line is one dated movement of the donor's money: a pledge made (or reduced, withdrawn,
expired: a reversal, negative), a commitment to a need (or its release: negative), a tranche
line sent to an organization, a refund the organization gave back (negative). Totals are plain
sums of the lines, per currency and in USD, so a statement never counts a movement twice and
always adds up to what it lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal(0)


class LineKind(StrEnum):
    PLEDGE = "pledge"
    COMMITMENT = "commitment"
    DISBURSEMENT = "disbursement"
    REFUND = "refund"


# The order of kinds on one day, and the name of each one's total.
KIND_ORDER = {k: i for i, k in enumerate(LineKind)}
TOTAL_NAMES = {
    LineKind.PLEDGE: "pledged",
    LineKind.COMMITMENT: "committed",
    LineKind.DISBURSEMENT: "disbursed",
    LineKind.REFUND: "refunded",
}


@dataclass(frozen=True, slots=True)
class Line:
    on: date
    kind: LineKind
    amount: Decimal  # signed, in ``currency``
    currency: str
    amount_usd: Decimal | None  # at ``on``'s rate; None when there is none
    sort_key: str = ""  # a stable tie-break (an id)


@dataclass
class Totals:
    """Per currency: {currency: {"pledged": …, "committed": …, "disbursed": …, "refunded": …}};
    in USD the same names, and how many lines had no rate (their USD is not in the sums)."""

    by_currency: dict[str, dict[str, Decimal]]
    usd: dict[str, Decimal]
    lines_without_rate: int


def _signed_total(kind: LineKind, amount: Decimal) -> Decimal:
    """A refund line is negative (money back to the donor); its total is what was refunded."""
    return -amount if kind == LineKind.REFUND else amount


def totals(lines: Iterable[Line]) -> Totals:
    by_currency: dict[str, dict[str, Decimal]] = {}
    usd = {name: ZERO for name in TOTAL_NAMES.values()}
    missing = 0
    for line in lines:
        name = TOTAL_NAMES[line.kind]
        sums = by_currency.setdefault(line.currency, {n: ZERO for n in TOTAL_NAMES.values()})
        sums[name] += _signed_total(line.kind, line.amount)
        if line.amount_usd is None:
            missing += 1
        else:
            usd[name] += _signed_total(line.kind, line.amount_usd)
    return Totals(dict(sorted(by_currency.items())), usd, missing)


def in_order(lines: Iterable[Line]) -> list[Line]:
    """By date, then pledges before commitments before tranches before refunds, then id."""
    return sorted(lines, key=lambda li: (li.on, KIND_ORDER[li.kind], li.sort_key))
