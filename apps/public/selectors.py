"""Reads behind the public figures: one grouped query, then disclosure control in aidmatch."""

from django.conf import settings
from django.db.models import Count, Sum

from aidmatch.disclosure import Cell, Summary, summarize
from aidmatch.lifecycle import NEED_PUBLIC
from apps.needs.models import Need


def funding_summary() -> Summary:
    rows = (
        Need.objects.filter(status__in=NEED_PUBLIC)
        .values("province_id", "sector_id", "currency_id", "organization_id")
        .annotate(
            needs=Count("id"),
            needed=Sum("amount"),
            proposed=Sum("proposed_amount"),
            committed=Sum("committed_amount"),
            disbursed=Sum("disbursed_amount"),
            women=Sum("beneficiaries_women"),
            girls=Sum("beneficiaries_girls"),
            men=Sum("beneficiaries_men"),
            boys=Sum("beneficiaries_boys"),
        )
        .order_by()
    )
    cells: dict[tuple, Cell] = {}
    for row in rows:
        key = (row["province_id"], row["sector_id"], row["currency_id"])
        cell = cells.setdefault(key, Cell(*key))
        cell.organizations.add(row["organization_id"])
        cell.needs += row["needs"]
        cell.needed += row["needed"]
        cell.matched += row["proposed"] + row["committed"]
        cell.committed += row["committed"]
        cell.disbursed += row["disbursed"]
        cell.beneficiaries += row["women"] + row["girls"] + row["men"] + row["boys"]
    return summarize(
        cells.values(),
        min_organizations=settings.PUBLIC_MIN_ORGANIZATIONS,
        min_beneficiaries=settings.PUBLIC_MIN_BENEFICIARIES,
    )
