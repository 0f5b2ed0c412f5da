"""Public figures that cannot single out a group: small cells are suppressed.

A cell (province × sector × currency) is published only when it is built from at least
``min_organizations`` organizations and ``min_beneficiaries`` people. Suppressed cells are pooled
into one "suppressed" line, itself published only if the pool passes the same test, and no
per-province or per-sector totals are given, so a suppressed cell cannot be recovered by
subtraction.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class Cell:
    province: str | None
    sector: str | None
    currency: str
    organizations: set = field(default_factory=set)
    needs: int = 0
    needed: Decimal = Decimal(0)
    matched: Decimal = Decimal(0)
    committed: Decimal = Decimal(0)
    disbursed: Decimal = Decimal(0)
    beneficiaries: int = 0

    def add(self, other: "Cell") -> None:
        self.organizations |= other.organizations
        self.needs += other.needs
        self.needed += other.needed
        self.matched += other.matched
        self.committed += other.committed
        self.disbursed += other.disbursed
        self.beneficiaries += other.beneficiaries

    def publishable(self, min_organizations: int, min_beneficiaries: int) -> bool:
        return (
            len(self.organizations) >= min_organizations and self.beneficiaries >= min_beneficiaries
        )


@dataclass
class Summary:
    cells: list[Cell]
    suppressed: dict[str, Cell]  # by currency: the pooled small cells that may be shown
    suppressed_cells: int


def summarize(cells: Iterable[Cell], *, min_organizations: int, min_beneficiaries: int) -> Summary:
    shown: list[Cell] = []
    pooled: dict[str, Cell] = {}
    hidden = 0
    for cell in cells:
        if cell.publishable(min_organizations, min_beneficiaries):
            shown.append(cell)
            continue
        hidden += 1
        pool = pooled.setdefault(cell.currency, Cell(None, None, cell.currency))
        pool.add(cell)
    publishable_pools = {
        c: p for c, p in pooled.items() if p.publishable(min_organizations, min_beneficiaries)
    }
    shown.sort(key=lambda c: (c.province or "", c.sector or "", c.currency))
    return Summary(cells=shown, suppressed=publishable_pools, suppressed_cells=hidden)
