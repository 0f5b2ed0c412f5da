"""Tranches: statuses, transitions, and how a tranche's amount is spread over allocations."""

from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum

from aidmatch.errors import InvalidTransition, RuleViolation
from aidmatch.money import CurrencyLike, format_money


class DisbursementStatus(StrEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"
    RECEIVED = "received"
    FAILED = "failed"
    RETURNED = "returned"


class Channel(StrEnum):
    BANK = "bank"
    HAWALA = "hawala"
    MOBILE_MONEY = "mobile_money"
    UN_CASH = "un_cash"
    IN_KIND = "in_kind"


D = DisbursementStatus
# Money in these tranches counts against their allocations.
LIVE = frozenset({D.SCHEDULED, D.SENT, D.RECEIVED})
# Money in these tranches has left the donor.
OUT = frozenset({D.SENT, D.RECEIVED})

TRANSITIONS = {
    D.SCHEDULED: frozenset({D.SENT, D.FAILED}),
    D.SENT: frozenset({D.RECEIVED, D.FAILED, D.RETURNED}),
    D.RECEIVED: frozenset({D.RETURNED}),
    D.FAILED: frozenset(),
    D.RETURNED: frozenset(),
}


def check_disbursement_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(D(current), frozenset()):
        raise InvalidTransition("disbursement", current, target)


def spread(
    amount: Decimal, owed: Sequence[tuple[str, Decimal]], currency: CurrencyLike
) -> list[tuple[str, Decimal]]:
    """Spread ``amount`` over allocations in the order given, each up to what it still owes.

    ``owed`` is [(allocation id, amount still owed)], oldest first, in ``currency``. Raises
    RuleViolation when the amount is more than they owe together.
    """
    total_owed = sum((o for _, o in owed), Decimal(0))
    if amount > total_owed:
        most = format_money(total_owed, currency)
        raise RuleViolation(
            f"The amount is more than these allocations still owe ({most}).",
            errors={"amount": [f"At most {most}."]},
        )
    lines, left = [], amount
    for allocation_id, still_owed in owed:
        if left <= 0:
            break
        take = min(left, still_owed)
        if take > 0:
            lines.append((allocation_id, take))
            left -= take
    return lines
