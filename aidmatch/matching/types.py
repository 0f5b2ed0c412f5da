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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

import numpy as np

NEVER = np.iinfo(np.int64).max  # ``PledgeArrays.expires_at`` of a pledge that never expires


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


class Earmark(NamedTuple):
    """What a pledge's money may fund (``PledgeIn``'s earmark fields); codes are sector codes,
    province P-codes, an organization id and need ids, in any collection of strings."""

    sectors: Iterable[str] = ()  # empty = any sector
    provinces: Iterable[str] = ()  # empty = any province
    organization: str | None = None
    need: str | None = None
    declined: Iterable[str] = ()  # need ids the donor declined


_EPOCH = datetime(1970, 1, 1)
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def expiry_micros(at: datetime | None) -> int:
    """Microseconds since the epoch (exact; naive datetimes read as UTC); None: ``NEVER``."""
    if at is None:
        return NEVER
    return (at - (_EPOCH if at.tzinfo is None else _EPOCH_UTC)) // _MICROSECOND


@dataclass(frozen=True, slots=True)
class PledgeArrays:
    """Pledges as columns (the compact alternative to an iterable of ``PledgeIn``): one entry
    per pledge in each array. Pledges that share an earmark share one ``Earmark`` entry, so a
    loader builds it with a dict: ``earmark[i] = table.setdefault(key, len(table))``."""

    ids: Sequence[str]
    capacity: np.ndarray  # int64 minor units of the pool currency
    earmark: np.ndarray  # int: index into ``earmarks``
    earmarks: Sequence[Earmark]
    expires_at: np.ndarray | None = None  # int64 µs since the epoch (UTC), NEVER; None: never
    rank: np.ndarray | None = None  # int64 stable order; None: all 0 (ties break on the id)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_pledges(cls, pledges: Iterable[PledgeIn]) -> PledgeArrays:
        ps = list(pledges)
        table: dict[Earmark, int] = {}
        earmark = np.fromiter(
            (
                table.setdefault(
                    Earmark(p.sectors, p.provinces, p.organization, p.need, p.declined),
                    len(table),
                )
                for p in ps
            ),
            dtype=np.int64,
            count=len(ps),
        )
        return cls(
            ids=[p.id for p in ps],
            capacity=np.fromiter((p.capacity for p in ps), dtype=np.int64, count=len(ps)),
            earmark=earmark,
            earmarks=list(table),
            expires_at=np.fromiter(
                (expiry_micros(p.expires_at) for p in ps), dtype=np.int64, count=len(ps)
            ),
            rank=np.fromiter((p.rank for p in ps), dtype=np.int64, count=len(ps)),
        )

    def concat(self, other: PledgeArrays) -> PledgeArrays:
        n, m = len(self), len(other)
        return PledgeArrays(
            ids=[*self.ids, *other.ids],
            capacity=np.r_[self.capacity, other.capacity].astype(np.int64),
            earmark=np.r_[self.earmark, np.asarray(other.earmark) + len(self.earmarks)],
            earmarks=[*self.earmarks, *other.earmarks],
            expires_at=np.r_[_or(self.expires_at, n, NEVER), _or(other.expires_at, m, NEVER)],
            rank=np.r_[_or(self.rank, n, 0), _or(other.rank, m, 0)],
        )

    def pledge(self, i: int) -> PledgeIn:
        """Pledge ``i`` as a ``PledgeIn``."""
        e = self.earmarks[int(self.earmark[i])]
        at = None if self.expires_at is None else int(self.expires_at[i])
        return PledgeIn(
            id=self.ids[i],
            capacity=int(self.capacity[i]),
            sectors=frozenset(e.sectors),
            provinces=frozenset(e.provinces),
            organization=e.organization,
            need=e.need,
            expires_at=None if at is None or at == NEVER else _EPOCH_UTC + at * _MICROSECOND,
            declined=frozenset(e.declined),
            rank=0 if self.rank is None else int(self.rank[i]),
        )


@dataclass(frozen=True, slots=True)
class NeedArrays:
    """Needs as columns (the compact alternative to an iterable of ``NeedIn``): sector,
    province and organization as integer codes into their vocabularies."""

    ids: Sequence[str]
    capacity: np.ndarray  # int64 minor units of the pool currency
    sector: np.ndarray  # int: index into ``sectors``
    sectors: Sequence[str]
    province: np.ndarray  # int: index into ``provinces``
    provinces: Sequence[str]
    organization: np.ndarray  # int: index into ``organizations``
    organizations: Sequence[str]
    urgency: np.ndarray  # int 1..5
    deadline: np.ndarray  # int: ``date.toordinal()``
    rank: np.ndarray | None = None  # int64 stable order; None: all 0 (ties break on the id)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_needs(cls, needs: Iterable[NeedIn]) -> NeedArrays:
        ns = list(needs)
        vocab: tuple[dict[str, int], dict[str, int], dict[str, int]] = ({}, {}, {})

        def codes(values: Iterable[str], table: dict[str, int]) -> np.ndarray:
            return np.fromiter(
                (table.setdefault(v, len(table)) for v in values), dtype=np.int64, count=len(ns)
            )

        return cls(
            ids=[n.id for n in ns],
            capacity=np.fromiter((n.capacity for n in ns), dtype=np.int64, count=len(ns)),
            sector=codes((n.sector for n in ns), vocab[0]),
            sectors=list(vocab[0]),
            province=codes((n.province for n in ns), vocab[1]),
            provinces=list(vocab[1]),
            organization=codes((n.organization for n in ns), vocab[2]),
            organizations=list(vocab[2]),
            urgency=np.fromiter((n.urgency for n in ns), dtype=np.int64, count=len(ns)),
            deadline=np.fromiter(
                (n.deadline.toordinal() for n in ns), dtype=np.int64, count=len(ns)
            ),
            rank=np.fromiter((n.rank for n in ns), dtype=np.int64, count=len(ns)),
        )

    def concat(self, other: NeedArrays) -> NeedArrays:
        n, m = len(self), len(other)
        parts = {}
        for attr, vocab in (
            ("sector", "sectors"),
            ("province", "provinces"),
            ("organization", "organizations"),
        ):
            table = {v: i for i, v in enumerate(getattr(self, vocab))}
            remap = np.asarray(
                [table.setdefault(v, len(table)) for v in getattr(other, vocab)], dtype=np.int64
            )
            other_codes = np.asarray(getattr(other, attr), dtype=np.int64)
            parts[attr] = np.r_[np.asarray(getattr(self, attr), dtype=np.int64), remap[other_codes]]
            parts[vocab] = list(table)
        return NeedArrays(
            ids=[*self.ids, *other.ids],
            capacity=np.r_[self.capacity, other.capacity].astype(np.int64),
            urgency=np.r_[self.urgency, other.urgency],
            deadline=np.r_[self.deadline, other.deadline],
            rank=np.r_[_or(self.rank, n, 0), _or(other.rank, m, 0)],
            **parts,
        )

    def need(self, i: int) -> NeedIn:
        """Need ``i`` as a ``NeedIn``."""
        return NeedIn(
            id=self.ids[i],
            capacity=int(self.capacity[i]),
            sector=self.sectors[int(self.sector[i])],
            province=self.provinces[int(self.province[i])],
            organization=self.organizations[int(self.organization[i])],
            urgency=int(self.urgency[i]),
            deadline=date.fromordinal(int(self.deadline[i])),
            rank=0 if self.rank is None else int(self.rank[i]),
        )


def _or(values: np.ndarray | None, n: int, default: int) -> np.ndarray:
    return np.full(n, default, dtype=np.int64) if values is None else np.asarray(values, np.int64)
