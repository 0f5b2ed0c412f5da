"""Every status and every allowed transition, in one place.

A forbidden transition raises InvalidTransition, which the API answers with 409.
"""

from decimal import Decimal
from enum import StrEnum

from aidmatch.errors import InvalidTransition


class OrganizationStatus(StrEnum):
    PENDING = "pending"
    SCREENING = "screening"
    VERIFIED = "verified"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class InvitationStatus(StrEnum):
    """An invitation to join an organization. ``expired`` is never stored: a pending
    invitation past its ``expires_at`` is shown as expired and can no longer be accepted."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"
    EXPIRED = "expired"


class NeedStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    OPEN = "open"
    PARTIALLY_FUNDED = "partially_funded"
    FUNDED = "funded"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class PledgeStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_ALLOCATED = "partially_allocated"
    FULLY_ALLOCATED = "fully_allocated"
    FULFILLED = "fulfilled"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class AllocationStatus(StrEnum):
    PROPOSED = "proposed"
    COMMITTED = "committed"
    DISBURSING = "disbursing"
    DISBURSED = "disbursed"
    DECLINED = "declined"
    RELEASED = "released"


N, P, A = NeedStatus, PledgeStatus, AllocationStatus

# The needs that donors can fund; matching fills them.
NEED_FUNDABLE = frozenset({N.OPEN, N.PARTIALLY_FUNDED})
# The needs anyone may see.
NEED_PUBLIC = frozenset({N.OPEN, N.PARTIALLY_FUNDED, N.FUNDED, N.COMPLETED})
# Pledges whose uncommitted money matching may place.
PLEDGE_MATCHABLE = frozenset({P.OPEN, P.PARTIALLY_ALLOCATED})
PLEDGE_LIVE = frozenset({P.OPEN, P.PARTIALLY_ALLOCATED, P.FULLY_ALLOCATED})
# Allocations that hold money (count against pledge and need amounts).
ALLOCATION_LIVE = frozenset({A.PROPOSED, A.COMMITTED, A.DISBURSING, A.DISBURSED})
ALLOCATION_COMMITTED = frozenset({A.COMMITTED, A.DISBURSING, A.DISBURSED})

OS = OrganizationStatus

TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    "organization": {
        # screening: a possible sanctions hit froze it until a verifier decides.
        OS.PENDING: frozenset({OS.SCREENING, OS.VERIFIED, OS.REJECTED}),
        OS.SCREENING: frozenset({OS.PENDING, OS.VERIFIED, OS.REJECTED}),
        OS.VERIFIED: frozenset({OS.SCREENING, OS.SUSPENDED, OS.REJECTED}),
        OS.SUSPENDED: frozenset({OS.VERIFIED, OS.SCREENING, OS.REJECTED}),
        OS.REJECTED: frozenset(),
    },
    # The invitee accepts or declines; an admin revokes (re-inviting revokes the pending one).
    "invitation": {
        InvitationStatus.PENDING: frozenset(
            {InvitationStatus.ACCEPTED, InvitationStatus.DECLINED, InvitationStatus.REVOKED}
        ),
        InvitationStatus.ACCEPTED: frozenset(),
        InvitationStatus.DECLINED: frozenset(),
        InvitationStatus.REVOKED: frozenset(),
    },
    "need": {
        N.DRAFT: frozenset({N.SUBMITTED, N.CANCELLED}),
        N.SUBMITTED: frozenset({N.OPEN, N.DRAFT, N.CANCELLED}),
        N.OPEN: frozenset({N.PARTIALLY_FUNDED, N.FUNDED, N.CANCELLED, N.EXPIRED}),
        N.PARTIALLY_FUNDED: frozenset({N.OPEN, N.FUNDED, N.CANCELLED, N.EXPIRED}),
        N.FUNDED: frozenset({N.PARTIALLY_FUNDED, N.OPEN, N.COMPLETED}),
        N.COMPLETED: frozenset(),
        N.CANCELLED: frozenset(),
        N.EXPIRED: frozenset(),
    },
    "pledge": {
        P.OPEN: frozenset({P.PARTIALLY_ALLOCATED, P.FULLY_ALLOCATED, P.WITHDRAWN, P.EXPIRED}),
        P.PARTIALLY_ALLOCATED: frozenset(
            {P.OPEN, P.FULLY_ALLOCATED, P.FULFILLED, P.WITHDRAWN, P.EXPIRED}
        ),
        P.FULLY_ALLOCATED: frozenset({P.OPEN, P.PARTIALLY_ALLOCATED, P.FULFILLED}),
        P.FULFILLED: frozenset({P.FULLY_ALLOCATED, P.PARTIALLY_ALLOCATED}),
        P.WITHDRAWN: frozenset(),
        P.EXPIRED: frozenset(),
    },
    "allocation": {
        A.PROPOSED: frozenset({A.COMMITTED, A.DECLINED, A.RELEASED}),
        A.COMMITTED: frozenset({A.DISBURSING, A.DISBURSED, A.RELEASED}),
        A.DISBURSING: frozenset({A.DISBURSED, A.COMMITTED}),
        A.DISBURSED: frozenset({A.DISBURSING, A.COMMITTED}),
        A.DECLINED: frozenset(),
        A.RELEASED: frozenset(),
    },
}


def check_transition(entity: str, current: str, target: str) -> None:
    if current == target:
        return
    if target not in TRANSITIONS[entity].get(current, frozenset()):
        raise InvalidTransition(entity, current, target)


def need_funding_status(amount: Decimal, committed: Decimal) -> NeedStatus:
    """Where an approved need stands by the money firmly committed to it."""
    if committed <= 0:
        return N.OPEN
    if committed < amount:
        return N.PARTIALLY_FUNDED
    return N.FUNDED


def pledge_allocation_status(
    amount: Decimal, allocated: Decimal, disbursed: Decimal
) -> PledgeStatus:
    """Where a live pledge stands by the money placed (proposed or committed) and delivered."""
    if amount > 0 and disbursed >= amount:
        return P.FULFILLED
    if allocated <= 0:
        return P.OPEN
    if allocated < amount:
        return P.PARTIALLY_ALLOCATED
    return P.FULLY_ALLOCATED
