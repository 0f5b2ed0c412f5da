import django_filters

from aidmatch.lifecycle import AllocationStatus
from apps.matching.models import Allocation


class AllocationFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=[(s.value, s.value) for s in AllocationStatus]
    )
    pledge = django_filters.UUIDFilter(field_name="pledge_id")
    need = django_filters.UUIDFilter(field_name="need_id")

    class Meta:
        model = Allocation
        fields = ["status", "pledge", "need"]
