import django_filters

from apps.fx.models import ExchangeRate


class ExchangeRateFilterSet(django_filters.FilterSet):
    base = django_filters.CharFilter(field_name="base_id", help_text="ISO 4217 code, e.g. USD.")
    quote = django_filters.CharFilter(field_name="quote_id", help_text="ISO 4217 code, e.g. AFN.")
    date_after = django_filters.DateFilter(
        field_name="date", lookup_expr="gte", help_text="Snapshots dated on or after this day."
    )
    date_before = django_filters.DateFilter(
        field_name="date", lookup_expr="lte", help_text="Snapshots dated on or before this day."
    )
    source = django_filters.CharFilter(field_name="source")

    class Meta:
        model = ExchangeRate
        fields = ["base", "quote", "date_after", "date_before", "source"]
