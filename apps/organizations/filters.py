import django_filters
from django.db.models import Q
from django.utils import timezone

from aidmatch.lifecycle import InvitationStatus
from apps.core.filters import FilterSet
from apps.organizations.access import is_verifier, member_org_ids
from apps.organizations.models import (
    Invitation,
    Organization,
    OrganizationKind,
    OrganizationStatus,
)


class OrganizationFilterSet(FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=OrganizationStatus.choices)
    kind = django_filters.MultipleChoiceFilter(choices=OrganizationKind.choices)
    province = django_filters.CharFilter(field_name="province__pcode")
    q = django_filters.CharFilter(method="filter_q", max_length=100, label="Name contains")

    class Meta:
        model = Organization
        fields = ["status", "kind", "province", "afghan_led"]

    def filter_q(self, queryset, name, value):
        """Search names the caller may see: a sensitive organization's real name is searchable
        only by its members and verifiers, so a search cannot unmask a pseudonym."""
        request = self.request
        if is_verifier(request):
            return queryset.filter(Q(name__icontains=value) | Q(pseudonym__icontains=value))
        visible_name = Q(sensitive=False) | Q(pk__in=member_org_ids(request))
        return queryset.filter(
            (visible_name & Q(name__icontains=value)) | Q(pseudonym__icontains=value)
        )


class InvitationFilterSet(FilterSet):
    """``?status=pending`` lists the invitations that can still be accepted; ``expired`` the
    pending ones past their expiry."""

    status = django_filters.ChoiceFilter(
        choices=[(s.value, s.value) for s in InvitationStatus], method="filter_status"
    )

    class Meta:
        model = Invitation
        fields = ["status", "role"]

    def filter_status(self, queryset, name, value):
        now = timezone.now()
        if value == InvitationStatus.PENDING:
            return queryset.filter(status=value, expires_at__gt=now)
        if value == InvitationStatus.EXPIRED:
            return queryset.filter(status=InvitationStatus.PENDING, expires_at__lte=now)
        return queryset.filter(status=value)
