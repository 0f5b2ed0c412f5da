"""An organization's ``iati-organisations`` 2.03 file: who it is (as published), its total
budget (its published needs, per currency and calendar year of their start) and its total
expenditure (what its delivery reports spent, from the ledger, per currency and year)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from django.db.models import Sum
from django.db.models.functions import Coalesce, ExtractYear
from django.utils import timezone
from lxml import etree

from aidmatch.ledger import AccountKind, IatiTransactionType
from apps.ledger.models import Leg
from apps.opendata.iati import codes
from apps.opendata.iati.activities import published_needs
from apps.opendata.iati.parties import organisation_identifier, reporter_for
from apps.opendata.iati.xml import (
    Buffer,
    amount,
    attributes,
    escape,
    iati_document,
    narrative,
    write_chunks,
)


def budget_totals(organization) -> list[tuple[int, str, object]]:
    """(year, currency, total) of the published needs' amounts."""
    return list(
        published_needs(organization)
        .annotate(year=ExtractYear(Coalesce("approved_at", "submitted_at", "created_at")))
        .values_list("year", "currency_id")
        .annotate(total=Sum("amount"))
        .order_by("year", "currency_id")
    )


def expenditure_totals(organization) -> list[tuple[int, str, object]]:
    """(year, currency, total) of the expenditure (4) leaving the organization's accounts."""
    return [
        (year, currency, -total)
        for year, currency, total in Leg.objects.filter(
            account__kind=AccountKind.ORGANIZATION.value,
            account__organization=organization,
            transaction__iati_type=IatiTransactionType.EXPENDITURE,
        )
        .annotate(year=ExtractYear("transaction__created_at"))
        .values_list("year", "currency_id")
        .annotate(total=Sum("amount"))
        .order_by("year", "currency_id")
    ]


def _period(tag: str, year: int, currency: str, total, **attrs) -> str:
    start, end = date(year, 1, 1).isoformat(), date(year, 12, 31).isoformat()
    return (
        f'<{tag}{attributes(**attrs)}><period-start iso-date="{start}"/>'
        f'<period-end iso-date="{end}"/>'
        f'<value currency="{currency}" value-date="{start}">{amount(total)}</value></{tag}>'
    )


def build_organisation(organization):
    reporter = reporter_for(organization)
    updated = timezone.now().isoformat(timespec="seconds")
    parts = [
        f'<iati-organisation xml:lang="en" last-updated-datetime="{updated}">',
        "<organisation-identifier>"
        f"{escape(organisation_identifier(organization, reporter))}"
        "</organisation-identifier>",
        narrative("name", reporter.organization.name),
        narrative("reporting-org", reporter.name, ref=reporter.ref, type=reporter.type),
    ]
    for year, currency, total in budget_totals(organization):
        parts.append(_period("total-budget", year, currency, total, status=codes.BUDGET_INDICATIVE))
    for year, currency, total in expenditure_totals(organization):
        parts.append(_period("total-expenditure", year, currency, total))
    parts.append("</iati-organisation>")
    return etree.fromstring("".join(parts))


def iter_organisation(organization) -> Iterator[bytes]:
    buffer = Buffer()
    with iati_document(buffer, "iati-organisations") as xf:
        xf.write(build_organisation(organization))
    yield buffer.take()


def write_organisation(organization, out) -> None:
    """Write the organization's ``iati-organisations`` file to ``out`` (a binary file-like)."""
    write_chunks(iter_organisation(organization), out)
