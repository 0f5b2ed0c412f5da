import django_filters

from aidmatch.lifecycle import PledgeStatus
from apps.core.filters import FilterSet
from apps.pledges.models import Pledge


class PledgeFilterSet(FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=[(s.value, s.value) for s in PledgeStatus])
    currency = django_filters.CharFilter(field_name="currency_id")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Pledge
        fields = ["status", "currency", "auto_commit", "anonymous"]
