import django_filters

from aidmatch.lifecycle import AllocationStatus
from apps.matching.models import Allocation, MatchRun


class AllocationFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=[(s.value, s.value) for s in AllocationStatus]
    )
    pledge = django_filters.UUIDFilter(field_name="pledge_id")
    need = django_filters.UUIDFilter(field_name="need_id")

    class Meta:
        model = Allocation
        fields = ["status", "pledge", "need"]


class MatchRunFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=MatchRun.Status.choices)
    trigger = django_filters.ChoiceFilter(choices=MatchRun.Trigger.choices)
    mode = django_filters.ChoiceFilter(choices=MatchRun.Mode.choices)

    class Meta:
        model = MatchRun
        fields = ["status", "trigger", "mode"]
