"""The funding page's figures: the public summary (apps.public.selectors.funding_summary, the same
small-cell suppression as /api/v1/public/funding-summary), grouped for people.

Within each currency the published cells are summed by province and by sector. Those sums cover
published cells only: a suppressed cell is in none of them, only in its currency's pooled line
(shown when the pool itself passes the test, as the API does), so no figure on the page lets a
suppressed cell be recovered by subtraction. Amounts in different currencies are never added.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from aidmatch.disclosure import Cell
from apps.public.selectors import funding_summary
from apps.reference.cache import reference_row
from apps.reference.models import Province, Sector


def localized_name(row: models.Model | None, language: str, default: str = "") -> str:
    """A province's or sector's name in `language` (the reference data's, English when it has
    none)."""
    return default if row is None else row.local_name(language)


@dataclass
class Line:
    """One bar and one table row: what is needed and what is funded (committed)."""

    code: str | None
    name: str
    needed: Decimal = Decimal(0)
    funded: Decimal = Decimal(0)
    needs: int = 0

    @property
    def percent(self) -> Decimal:
        """Funded as a percentage of needed, to 0.1 (as the API's percent_funded)."""
        if not self.needed:
            return Decimal("0.0")
        return (self.funded * 100 / self.needed).quantize(Decimal("0.1"))


@dataclass
class CurrencyFigures:
    currency: str
    by_province: list[Line] = field(default_factory=list)
    by_sector: list[Line] = field(default_factory=list)
    pooled: Line | None = None  # the suppressed cells of this currency, pooled, when publishable


@dataclass
class PageFigures:
    currencies: list[CurrencyFigures]
    suppressed_cells: int
    min_organizations: int
    min_beneficiaries: int
    as_of: object  # a datetime


def _grouped(cells: list[Cell], model, attribute: str, language: str) -> list[Line]:
    lines: dict[str, Line] = {}
    for cell in cells:
        code = getattr(cell, attribute)
        line = lines.get(code)
        if line is None:
            line = lines[code] = Line(code, localized_name(reference_row(model, code), language))
        line.needed += cell.needed
        line.funded += cell.committed
        line.needs += cell.needs
    return sorted(lines.values(), key=lambda line: (-line.needed, line.name))


def page_figures(language: str) -> PageFigures:
    summary = funding_summary()
    currencies = sorted({c.currency for c in summary.cells} | set(summary.suppressed))
    figures = []
    for currency in currencies:
        cells = [c for c in summary.cells if c.currency == currency]
        pool = summary.suppressed.get(currency)
        figures.append(
            CurrencyFigures(
                currency=currency,
                by_province=_grouped(cells, Province, "province", language),
                by_sector=_grouped(cells, Sector, "sector", language),
                pooled=Line(None, "", pool.needed, pool.committed, pool.needs) if pool else None,
            )
        )
    return PageFigures(
        currencies=figures,
        suppressed_cells=summary.suppressed_cells,
        min_organizations=settings.PUBLIC_MIN_ORGANIZATIONS,
        min_beneficiaries=settings.PUBLIC_MIN_BENEFICIARIES,
        as_of=timezone.now(),
    )
