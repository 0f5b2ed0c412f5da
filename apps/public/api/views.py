from decimal import Decimal

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes, renderer_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings

from aidmatch.disclosure import Cell
from apps.core.money import money_str
from apps.core.tabular import CSVRenderer, HXLRenderer, cell, csv_response, tabular_format
from apps.public.selectors import funding_summary
from apps.reference.cache import reference_row
from apps.reference.models import Currency, Province, Sector


def _cell(cell: Cell, minor_units: dict[str, int]) -> dict:
    percent = (cell.committed * 100 / cell.needed).quantize(Decimal("0.1")) if cell.needed else 0
    minor = minor_units[cell.currency]
    return {
        "province": cell.province,
        "sector": cell.sector,
        "currency": cell.currency,
        "needs": cell.needs,
        "needed": money_str(cell.needed, minor),
        "pledged": money_str(cell.matched, minor),
        "committed": money_str(cell.committed, minor),
        "disbursed": money_str(cell.disbursed, minor),
        "percent_funded": str(percent),
        "beneficiaries": cell.beneficiaries,
    }


class FundingCellSerializer(serializers.Serializer):
    province = serializers.CharField(allow_null=True)
    sector = serializers.CharField(allow_null=True)
    currency = serializers.CharField()
    needs = serializers.IntegerField()
    needed = serializers.CharField()
    pledged = serializers.CharField(help_text="Proposed or committed to these needs.")
    committed = serializers.CharField()
    disbursed = serializers.CharField()
    percent_funded = serializers.CharField()
    beneficiaries = serializers.IntegerField()


# The CSV (?format=csv or Accept: text/csv) and HXL (?format=hxl) of the summary: one line per
# shown cell, then the pooled suppressed line of each currency that may be shown: the JSON's
# figures (the same _cell), with the province's and sector's names beside their codes, and
# nothing the JSON does not give (no count of organizations per cell: near the threshold it
# would single a few out).
TABLE = [
    ("province", "#adm1+code"),
    ("province_name", "#adm1+name"),
    ("sector", "#sector+cluster+code"),
    ("sector_name", "#sector+cluster+name"),
    ("currency", "#currency"),
    ("needs", "#activity+count"),
    ("needed", "#value+requirement"),
    ("pledged", "#value+pledged"),
    ("committed", "#value+funding"),
    ("disbursed", "#value+disbursed"),
    ("percent_funded", "#value+pct+funded"),
    ("beneficiaries", "#targeted"),
    ("pooled", "#meta+pooled"),
]


def _name(model, code: str | None) -> str | None:
    """A reference row's name (from the per-process cache); none for a pooled line."""
    row = reference_row(model, code) if code else None
    return row.name if row else None


def _table(summary, units: dict[str, int], kind: str):
    rows = [(c, False) for c in summary.cells]
    rows += [(c, True) for _, c in sorted(summary.suppressed.items())]

    def lines():
        for one, pooled in rows:
            shown = _cell(one, units)
            shown["province_name"] = _name(Province, one.province)
            shown["sector_name"] = _name(Sector, one.sector)
            shown["pooled"] = pooled
            yield [cell(shown[name]) for name, _ in TABLE]

    tags = [tag for _, tag in TABLE] if kind == "hxl" else None
    return csv_response("funding-summary", [name for name, _ in TABLE], tags, lines())


@extend_schema(
    summary="Funding by province and sector (public, privacy-safe)",
    description=(
        "Open, funded and completed needs summed by province, sector and currency. A cell built "
        "from fewer than PUBLIC_MIN_ORGANIZATIONS organizations or PUBLIC_MIN_BENEFICIARIES "
        "people is not shown; suppressed cells are pooled into `suppressed` (per currency, shown "
        "only if the pool itself passes), and no totals are given that would let a hidden cell "
        "be recovered by subtraction. As CSV (`?format=csv` or Accept: text/csv) or HXL "
        "(`?format=hxl`): one line per shown cell, then the pooled line(s) (`pooled` true)."
    ),
    responses={
        (200, "application/json"): inline_serializer(
            "FundingSummary",
            {
                "cells": FundingCellSerializer(many=True),
                "suppressed": FundingCellSerializer(many=True),
                "suppressed_cells": serializers.IntegerField(),
            },
        ),
        (200, "text/csv"): {"type": "string"},
    },
    tags=["public"],
)
@api_view(["GET"])
@permission_classes([AllowAny])
@renderer_classes([*api_settings.DEFAULT_RENDERER_CLASSES, CSVRenderer, HXLRenderer])
def funding_summary_view(request):
    summary = funding_summary()
    units = dict(Currency.objects.values_list("code", "minor_unit"))
    kind = tabular_format(request)
    if kind:
        return _table(summary, units, kind)
    return Response(
        {
            "cells": [_cell(c, units) for c in summary.cells],
            "suppressed": [_cell(c, units) for _, c in sorted(summary.suppressed.items())],
            "suppressed_cells": summary.suppressed_cells,
        }
    )
