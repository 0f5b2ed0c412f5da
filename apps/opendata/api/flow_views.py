"""FTS-style flows: ``GET /api/v1/flows/``, open data for anyone (see ``apps.opendata.flows``)."""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny

from apps.core.filters import FilterSet
from apps.core.money import MoneyField, money_str
from apps.core.pagination import CursorPagination
from apps.core.tabular import TabularListMixin
from apps.opendata import flows
from apps.opendata.selectors import publishing_organizations
from apps.reference.models import Province, Sector


@extend_schema_field(OpenApiTypes.UUID)
class OrganizationFilter(django_filters.ModelChoiceFilter):
    """A publishing organization, by id."""


class FlowFilterSet(FilterSet):
    year = django_filters.NumberFilter(method="filter_year", min_value=2000, max_value=2100)
    province = django_filters.ModelChoiceFilter(
        queryset=Province.objects.all(), method="filter_province", help_text="Admin-1 P-code."
    )
    sector = django_filters.ModelChoiceFilter(
        queryset=Sector.objects.all(), method="filter_sector", help_text="Sector code."
    )
    organization = OrganizationFilter(
        queryset=publishing_organizations(),
        method="filter_organization",
        help_text="A publishing organization's id (any other id is a 400).",
    )
    status = django_filters.ChoiceFilter(
        choices=[(s, s) for s in flows.STATUSES], method="filter_status"
    )

    def filter_year(self, queryset, name, value):
        return queryset.filter(transaction__created_at__year=int(value))

    def filter_province(self, queryset, name, value):
        return queryset.filter(province=value.pk)

    def filter_sector(self, queryset, name, value):
        return queryset.filter(sector=value.pk)

    def filter_organization(self, queryset, name, value):
        return queryset.filter(org_id=str(value.pk))

    def filter_status(self, queryset, name, value):
        return flows.filter_status(queryset, value)


class FlowPagination(CursorPagination):
    """Flows in ledger order (the leg's id: stable, and the primary key's index)."""

    ordering = "id"
    max_page_size = 1000


class FlowSerializer(serializers.Serializer):
    """One flow. Rows arrive already shaped (``apps.opendata.flows.shown_rows``): only decimals,
    dates and ids are turned to text here, so a page of 1,000 renders in milliseconds."""

    id = serializers.IntegerField(help_text="Stable: the ledger leg the flow is read from.")
    status = serializers.ChoiceField(choices=flows.STATUSES)
    boundary = serializers.ChoiceField(
        choices=["incoming", "internal", "outgoing"],
        help_text="Where the flow crosses AidMatch (the channel): a pledge comes in, a "
        "commitment moves inside, a payment goes out to the organization.",
    )
    reversal = serializers.BooleanField(
        read_only=True,
        help_text="A correction (reduction, withdrawal, release, tranche given back): its "
        "amount is negative and parent_flow_ids names the flow it reverses.",
    )
    source_name = serializers.CharField(
        help_text='The donor institution when it publishes, else "private donor" or '
        '"anonymous donor".'
    )
    source_ref = serializers.CharField(allow_null=True, help_text="The donor's IATI org-id.")
    destination_name = serializers.CharField(
        help_text='A publishing organization (its pseudonym when sensitive), or "AidMatch '
        'pool" for a pledge not earmarked to one.'
    )
    destination_ref = serializers.CharField(allow_null=True, help_text="Its IATI org-id.")
    organization_id = serializers.UUIDField(allow_null=True)
    need_id = serializers.UUIDField(allow_null=True)
    need_title = serializers.CharField(allow_null=True)
    province = serializers.CharField(allow_null=True, help_text="Admin-1 P-code of the need.")
    sector = serializers.CharField(allow_null=True)
    amount = MoneyField(help_text="In the original currency; negative for a reversal.")
    currency = serializers.CharField()
    amount_usd = MoneyField(
        currency_field=lambda row: "USD",
        allow_null=True,
        help_text="At the value date's rate (apps.fx); null when no rate is known.",
    )
    usd_missing_reason = serializers.ChoiceField(
        choices=[flows.NO_RATE, flows.STALE_RATE], allow_null=True
    )
    date = serializers.DateField(help_text="The value date (the day the ledger booked it).")
    parent_flow_ids = serializers.ListField(child=serializers.IntegerField())

    def to_representation(self, row):
        out = dict(row)  # ids are text already (apps.opendata.flows)
        out["amount"] = money_str(row["amount"], row["currency"])
        if row["amount_usd"] is not None:
            out["amount_usd"] = money_str(row["amount_usd"], 2)
        out["date"] = row["date"].isoformat()
        return out


@extend_schema(
    summary="FTS-style flows: pledges, commitments and payments, from the ledger",
    description=(
        "Open data: the same rows for everyone. One row per ledger leg moving a donor's money "
        "towards a publishing organization's need (or AidMatch's pool for an unearmarked "
        "pledge); reversals are their own rows. Totals per status and currency are the "
        "ledger's."
    ),
)
class FlowListView(TabularListMixin, generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = FlowSerializer
    filterset_class = FlowFilterSet
    pagination_class = FlowPagination
    ordering_fields: list[str] = []
    # CSV pages of 2,500: a page costs three queries whatever its length and a row is a small
    # dict, so larger pages make a faster export (5,000 added 15 MB for no gain: bench/README).
    tabular_page_size = 2500
    hxl_tags = {
        "id": "#x_flow+id",
        "status": "#status+flow",
        "boundary": "#x_boundary",
        "source_name": "#org+name+funder",
        "source_ref": "#org+code+funder",
        "destination_name": "#org+name+impl",
        "destination_ref": "#org+code+impl",
        "need_id": "#activity+id",
        "need_title": "#activity+name",
        "province": "#adm1+code",
        "sector": "#sector+cluster+code",
        "amount": "#value+funding+original",
        "currency": "#currency+original",
        "amount_usd": "#value+funding+usd",
        "date": "#date+value",
        "parent_flow_ids": "#x_flow+parent",
    }

    def get_queryset(self):
        return flows.flows()

    def list(self, request, *args, **kwargs):
        """The queryset is built and filtered once per request: a CSV export pages through it
        (each page clones it with its cursor's bound) instead of building it again per page."""
        if getattr(self, "_flows", None) is None:
            self._flows = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(self._flows)  # FlowPagination: always a page
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is None:
            return None
        if not hasattr(self, "_rates"):
            self._rates, self._pledges = flows.UsdRates(), flows.Pledges()
        return flows.shown_rows(list(page), self._rates, self._pledges)
