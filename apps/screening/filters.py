import django_filters

from apps.core.filters import BooleanFilter
from apps.screening.models import SanctionsList, ScreeningHit

RESOLUTIONS = [("open", "open"), ("false_positive", "false positive"), ("confirmed", "confirmed")]


class ScreeningHitFilterSet(django_filters.FilterSet):
    organization = django_filters.UUIDFilter(field_name="organization_id")
    resolution = django_filters.ChoiceFilter(choices=RESOLUTIONS, method="filter_resolution")
    source = django_filters.ChoiceFilter(choices=SanctionsList.Source.choices)

    class Meta:
        model = ScreeningHit
        fields = ["organization", "resolution", "source"]

    def filter_resolution(self, queryset, name, value):
        return queryset.filter(resolution="" if value == "open" else value)


class SanctionsListFilterSet(django_filters.FilterSet):
    source = django_filters.ChoiceFilter(choices=SanctionsList.Source.choices)
    active = BooleanFilter()

    class Meta:
        model = SanctionsList
        fields = ["source", "active"]
