"""Tranches: channels, and how a tranche's amount is spread over allocations."""

from collections.abc import Sequence
from decimal import ROUND_UP, Decimal
from enum import StrEnum

from aidmatch.errors import RuleViolation
from aidmatch.i18n import gettext_noop as _
from aidmatch.lifecycle import DisbursementStatus  # its transitions: lifecycle.TRANCHE_TRANSITIONS
from aidmatch.money import CurrencyLike, format_money


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


def spread(
    amount: Decimal, owed: Sequence[tuple[str, Decimal]], currency: CurrencyLike
) -> list[tuple[str, Decimal]]:
    """Spread ``amount`` over allocations in the order given, each up to what it still owes.

    ``owed`` is [(allocation id, amount still owed)], oldest first, in ``currency``. Raises
    RuleViolation when the amount is more than they owe together.
    """
    total_owed = sum((o for _a, o in owed), Decimal(0))
    if amount > total_owed:
        most = format_money(total_owed, currency)
        raise RuleViolation(
            _("The amount is more than these allocations still owe (%(most)s)."),
            errors={"amount": [_("At most %(most)s.")]},
            params={"most": most},
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


def refunded_share(
    part: Decimal, received: Decimal, refunded: Decimal, quantum: Decimal
) -> Decimal:
    """The share of ``part`` (a line of a tranche, in any currency) that ``refunded`` out of the
    tranche's ``received`` amount gave back: rounded up to ``quantum``, so what is shown as
    received net of refunds is never more than what stayed; all of ``part`` once everything
    received was refunded."""
    if refunded <= 0 or part <= 0:
        return Decimal(0)
    if refunded >= received:
        return part
    return min(part, (part * refunded / received).quantize(quantum, rounding=ROUND_UP))
