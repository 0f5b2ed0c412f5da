import django_filters

from apps.core.filters import FilterSet
from apps.disbursements.models import Disbursement
from apps.organizations.access import donor_side_q


class DisbursementFilterSet(FilterSet):
    external_reference = django_filters.CharFilter(
        method="filter_external_reference", max_length=100, label="Your own id for the tranche"
    )

    class Meta:
        model = Disbursement
        fields = ["status", "channel", "organization"]

    def filter_external_reference(self, queryset, name, value):
        """Among the caller's own tranches only (the receiving organization and verifiers cannot
        look a donor's ids up)."""
        return queryset.filter(donor_side_q(self.request), external_reference=value)
