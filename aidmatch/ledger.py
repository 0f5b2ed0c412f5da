"""The ledger's rules, in plain Python: account keys, IATI transaction types, and what makes a
posting valid.

A posting is a list of legs (account, signed amount, currency). Money leaves the accounts with
negative legs and arrives in the accounts with positive legs; an account's balance is the sum of
its legs. The legs of one posting sum to zero in each currency on its own, so a movement between
currencies passes through the FX account: it takes the money in one currency and gives it out in
the other (USD: pledge −100, fx +100; AFN: fx −7012.34, need +7012.34).

The ledger speaks from AidMatch's side, as the channel money passes through: a pledge comes in
(13 incoming pledge), a commitment to a need goes out (2 outgoing commitment), then a
disbursement (3) and the organization's expenditure (4). ``counterpart_type`` gives the other
party's view for exports (the organization sees 11 incoming commitment, the donor 12 outgoing
pledge). IATI has no reversal codes: a correction is a transaction of the same type whose legs
run the other way, pointing at the one it reverses.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum, StrEnum

ZERO = Decimal(0)


class LedgerError(Exception):
    """A posting the ledger refuses. Our own services build every posting, so this is a bug to
    fix (HTTP 500), never the caller's mistake."""


class InvalidPosting(LedgerError):
    pass


class UnbalancedPosting(InvalidPosting):
    def __init__(self, imbalances: Mapping[str, Decimal]) -> None:
        self.imbalances = dict(imbalances)
        listed = ", ".join(f"{cur} {total:+}" for cur, total in sorted(self.imbalances.items()))
        super().__init__(f"The legs do not sum to zero per currency: {listed}.")


class PostingConflict(LedgerError):
    """The idempotency key was already used for a different posting."""


class IatiTransactionType(IntEnum):
    """IATI 2.03 TransactionType codes used by the ledger (and their counterparts)."""

    INCOMING_FUNDS = 1
    OUTGOING_COMMITMENT = 2
    DISBURSEMENT = 3
    EXPENDITURE = 4
    INCOMING_COMMITMENT = 11
    OUTGOING_PLEDGE = 12
    INCOMING_PLEDGE = 13

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()


T = IatiTransactionType
_COUNTERPARTS = {
    T.INCOMING_PLEDGE: T.OUTGOING_PLEDGE,
    T.OUTGOING_COMMITMENT: T.INCOMING_COMMITMENT,
    T.DISBURSEMENT: T.INCOMING_FUNDS,
}
_COUNTERPARTS.update({v: k for k, v in list(_COUNTERPARTS.items())})


def counterpart_type(code: int) -> IatiTransactionType | None:
    """How the other party reports the same movement (2 → 11, 13 → 12, 3 → 1); None for 4."""
    return _COUNTERPARTS.get(IatiTransactionType(code))


# What the ledger posts for each event of the domain.
PLEDGE_MADE = T.INCOMING_PLEDGE  # external → pledge; a reduction, withdrawal, expiry reverses it
ALLOCATION_COMMITTED = T.OUTGOING_COMMITMENT  # pledge → need (through FX); a release reverses it
DISBURSEMENT_SENT = T.DISBURSEMENT  # need → in transit (and fees)
RECEIPT_CONFIRMED = T.DISBURSEMENT  # in transit → organization
EXPENDITURE_REPORTED = T.EXPENDITURE  # organization → external
# Money the organization gives back after receipt goes to the donor, outside: a disbursement
# whose legs run the other way (organization → external), as IATI reports a refund.
REFUND_RECORDED = T.DISBURSEMENT


class AccountKind(StrEnum):
    DONOR_PLEDGE = "donor_pledge"  # one per pledge: pledged money not yet committed
    NEED = "need"  # one per need: committed money not yet disbursed
    ORGANIZATION = "organization"  # one per organization and currency: money received
    IN_TRANSIT = "in_transit"  # sent, not yet confirmed received
    FEES = "fees"  # transfer fees (hawala)
    FX = "fx"  # the exchange desk: one per currency
    EXTERNAL = "external"  # the world outside: donors' own money, suppliers

    @property
    def owned(self) -> bool:
        return self in OWNED_KINDS


OWNED_KINDS = frozenset({AccountKind.DONOR_PLEDGE, AccountKind.NEED, AccountKind.ORGANIZATION})


def account_key(kind: AccountKind | str, currency: str, owner: object = None) -> str:
    """The unique key of an account: ``need:<id>:AFN``, ``fx:USD``, ``external:USD``."""
    kind = AccountKind(kind)
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise InvalidPosting(f"'{currency}' is not an ISO 4217 currency code.")
    if kind.owned != (owner is not None):
        need = "needs" if kind.owned else "takes no"
        raise InvalidPosting(f"A {kind} account {need} owner.")
    return f"{kind}:{owner}:{currency}" if kind.owned else f"{kind}:{currency}"


def key_currency(key: str) -> str:
    return key.rsplit(":", 1)[-1]


def key_kind(key: str) -> AccountKind:
    return AccountKind(key.split(":", 1)[0])


@dataclass(frozen=True, slots=True)
class PostingLeg:
    account: str  # an account key
    amount: Decimal  # signed: negative leaves the account, positive arrives
    currency: str

    def negated(self) -> PostingLeg:
        return PostingLeg(self.account, -self.amount, self.currency)


def imbalances(legs: Iterable[PostingLeg]) -> dict[str, Decimal]:
    """The currencies whose legs do not sum to zero, with their sums."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for leg in legs:
        totals[leg.currency] += leg.amount
    return {cur: total for cur, total in totals.items() if total != 0}


def check_posting(legs: Sequence[PostingLeg], minor_units: Mapping[str, int]) -> None:
    """Refuse a posting unless it has two legs or more, each a non-zero Decimal with no more
    decimals than its currency has, on an account of that currency, summing to zero in each
    currency."""
    if len(legs) < 2:
        raise InvalidPosting("A posting has at least two legs.")
    for leg in legs:
        if not isinstance(leg.amount, Decimal) or not leg.amount.is_finite():
            raise InvalidPosting(f"Leg amounts are finite Decimals, not {leg.amount!r}.")
        if leg.amount == 0:
            raise InvalidPosting(f"A leg on {leg.account} moves nothing.")
        if leg.currency not in minor_units:
            raise InvalidPosting(f"Unknown currency '{leg.currency}'.")
        if key_currency(leg.account) != leg.currency:
            raise InvalidPosting(f"Account {leg.account} does not hold {leg.currency}.")
        quantum = Decimal(1).scaleb(-minor_units[leg.currency])
        if leg.amount != leg.amount.quantize(quantum):
            raise InvalidPosting(
                f"{leg.amount} has more decimals than {leg.currency} has ({leg.account})."
            )
    unbalanced = imbalances(legs)
    if unbalanced:
        raise UnbalancedPosting(unbalanced)


def net(legs: Iterable[PostingLeg]) -> dict[tuple[str, str], Decimal]:
    """Net amount per (account, currency), zeros dropped: two postings with the same net are the
    same movement, whatever the order or split of their legs."""
    totals: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for leg in legs:
        totals[(leg.account, leg.currency)] += leg.amount
    return {k: v.normalize() for k, v in sorted(totals.items()) if v != 0}


def transfer(
    *,
    source: str,
    target: str,
    amount: Decimal,
    currency: str,
    target_amount: Decimal | None = None,
    target_currency: str | None = None,
) -> list[PostingLeg]:
    """Move ``amount`` from ``source`` to ``target``; between currencies, through FX: the FX
    account of ``currency`` takes ``amount`` and the FX account of ``target_currency`` pays out
    ``target_amount``, so each currency balances on its own."""
    target_currency = target_currency or currency
    target_amount = amount if target_amount is None else target_amount
    if amount <= 0 or target_amount <= 0:
        raise InvalidPosting("A transfer moves a positive amount.")
    if target_currency == currency:
        if target_amount != amount:
            raise InvalidPosting("In one currency, what leaves is what arrives.")
        return [PostingLeg(source, -amount, currency), PostingLeg(target, amount, currency)]
    return [
        PostingLeg(source, -amount, currency),
        PostingLeg(account_key(AccountKind.FX, currency), amount, currency),
        PostingLeg(account_key(AccountKind.FX, target_currency), -target_amount, target_currency),
        PostingLeg(target, target_amount, target_currency),
    ]


def reversal(legs: Iterable[PostingLeg]) -> list[PostingLeg]:
    """The legs that undo ``legs`` exactly."""
    return [leg.negated() for leg in legs]


def check_reversal(
    original: Iterable[PostingLeg],
    reversed_before: Iterable[PostingLeg],
    new: Iterable[PostingLeg],
) -> None:
    """A reversal runs back along the original's own accounts, and all reversals of one
    transaction together never undo more than it moved."""
    moved = net(original)
    undone = net([*reversed_before, *new])
    for (account, currency), amount in net(new).items():
        before = moved.get((account, currency))
        if before is None:
            raise InvalidPosting(f"A reversal touches {account}, which the original did not.")
        if (amount > 0) == (before > 0):
            raise InvalidPosting(f"A reversal must run back on {account}, not repeat the move.")
        total = undone.get((account, currency), ZERO)
        if abs(total) > abs(before):
            raise InvalidPosting(
                f"Reversals would undo {abs(total)} {currency} on "
                f"{account}, more than the {abs(before)} it moved."
            )
