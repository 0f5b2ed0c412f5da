"""What the matching solver takes and gives: plain, frozen dataclasses, amounts in integer
minor units of one pool currency (the orchestration converts before and after).

Ties (between pledges expiring together, needs of equal weight, equal-cost flows) break on
``rank`` and then the id, so a world whose ids are random (UUIDs) but whose ranks are stable
(e.g. creation order) gives the same rows on every run. With every rank at its default (0),
ties break on the id as before.

Capacities include the money already *proposed* (a solve may move a proposal), but never
what is committed: committed money is out of the pool before the solver sees it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class PledgeIn:
    id: str
    capacity: int  # minor units: amount - committed, converted to the pool currency
    sectors: frozenset[str] = frozenset()  # sector codes; empty = any sector
    provinces: frozenset[str] = frozenset()  # province P-codes; empty = any province
    organization: str | None = None  # earmarked to one organization's needs
    need: str | None = None  # earmarked to one need
    expires_at: datetime | None = None  # soonest-expiring pledges are placed first
    declined: frozenset[str] = frozenset()  # need ids the donor declined: never proposed again
    rank: int = 0  # stable order (e.g. creation order): every tie breaks on (rank, id)


@dataclass(frozen=True, slots=True)
class NeedIn:
    id: str
    capacity: int  # minor units: amount - committed, converted to the pool currency
    sector: str
    province: str
    organization: str
    urgency: int  # 1..5; dominates the weight
    deadline: date  # nearer deadlines weigh more, within one urgency step
    rank: int = 0  # stable order (e.g. creation order): every tie breaks on (rank, id)


@dataclass(frozen=True, slots=True)
class Proposal:
    """A current, uncommitted proposal: kept unless a better use is found (stability)."""

    pledge: str
    need: str
    amount: int


@dataclass(frozen=True, slots=True)
class Row:
    """One pledge → need allocation of the solution, with why it was made."""

    pledge: str
    need: str
    amount: int
    explanation: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True, slots=True)
class Solution:
    rows: tuple[Row, ...]  # sorted by (pledge, need); the complete desired set of proposals
    objective: int  # the solver's integer objective (higher is better)
    funded: int  # total minor units placed
    solver: str  # e.g. "ortools-mcf" or "greedy-insert"
    version: str  # solver name + library version + model revision, recorded per run
    stats: dict = field(default_factory=dict, compare=False, hash=False)
