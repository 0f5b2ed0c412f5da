from decimal import Decimal

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from aidmatch.disclosure import Cell
from apps.core.money import money_str
from apps.public.selectors import funding_summary
from apps.reference.models import Currency


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


@extend_schema(
    summary="Funding by province and sector (public, privacy-safe)",
    description=(
        "Open, funded and completed needs summed by province, sector and currency. A cell built "
        "from fewer than PUBLIC_MIN_ORGANIZATIONS organizations or PUBLIC_MIN_BENEFICIARIES "
        "people is not shown; suppressed cells are pooled into `suppressed` (per currency, shown "
        "only if the pool itself passes), and no totals are given that would let a hidden cell "
        "be recovered by subtraction."
    ),
    responses=inline_serializer(
        "FundingSummary",
        {
            "cells": FundingCellSerializer(many=True),
            "suppressed": FundingCellSerializer(many=True),
            "suppressed_cells": serializers.IntegerField(),
        },
    ),
    tags=["public"],
)
@api_view(["GET"])
@permission_classes([AllowAny])
def funding_summary_view(request):
    summary = funding_summary()
    units = dict(Currency.objects.values_list("code", "minor_unit"))
    return Response(
        {
            "cells": [_cell(c, units) for c in summary.cells],
            "suppressed": [_cell(c, units) for _, c in sorted(summary.suppressed.items())],
            "suppressed_cells": summary.suppressed_cells,
        }
    )
