import django_filters

from aidmatch.lifecycle import PledgeStatus
from aidmatch.schedules import Interval, ScheduleStatus
from apps.core.filters import FilterSet
from apps.organizations.access import donor_side_q
from apps.pledges.models import Pledge, PledgeSchedule


class PledgeFilterSet(FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=[(s.value, s.value) for s in PledgeStatus])
    currency = django_filters.CharFilter(field_name="currency_id")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    external_reference = django_filters.CharFilter(
        method="filter_external_reference", max_length=100, label="Your own id for the pledge"
    )
    schedule = django_filters.UUIDFilter(
        field_name="schedule_id", label="The recurring pledge that made it"
    )

    class Meta:
        model = Pledge
        fields = ["status", "currency", "auto_commit", "anonymous"]

    def filter_external_reference(self, queryset, name, value):
        """Among the caller's own pledges only (a verifier cannot look others' ids up)."""
        return queryset.filter(donor_side_q(self.request), external_reference=value)


class PledgeScheduleFilterSet(FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=[(s.value, s.value) for s in ScheduleStatus]
    )
    interval = django_filters.ChoiceFilter(choices=[(i.value, i.value) for i in Interval])
    currency = django_filters.CharFilter(field_name="currency_id")
    earmark_organization = django_filters.UUIDFilter(field_name="earmark_organization_id")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = PledgeSchedule
        fields = ["status", "interval", "currency", "auto_commit", "anonymous"]
