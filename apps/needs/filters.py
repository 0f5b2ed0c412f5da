import django_filters
from django.utils.translation import gettext
from rest_framework.exceptions import ValidationError

from aidmatch.lifecycle import NeedStatus
from apps.needs.models import Need
from apps.organizations.access import member_org_ids
from apps.reference.models import Currency, Province, Sector


class NeedFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=[(s.value, s.value) for s in NeedStatus])
    # Unknown codes (a bad P-code, sector or currency) are a 400, not an empty list.
    sector = django_filters.ModelChoiceFilter(queryset=Sector.objects.all())
    province = django_filters.ModelChoiceFilter(queryset=Province.objects.all())
    currency = django_filters.ModelChoiceFilter(queryset=Currency.objects.all())
    urgency = django_filters.NumberFilter(min_value=1, max_value=5)
    urgency_min = django_filters.NumberFilter(field_name="urgency", lookup_expr="gte")
    organization = django_filters.UUIDFilter(method="filter_organization")
    deadline_before = django_filters.DateFilter(field_name="deadline", lookup_expr="lte")
    deadline_after = django_filters.DateFilter(field_name="deadline", lookup_expr="gte")
    q = django_filters.CharFilter(method="filter_q", max_length=100, label="Title contains")
    external_reference = django_filters.CharFilter(
        method="filter_external_reference", max_length=100, label="Your own id for the need"
    )

    class Meta:
        model = Need
        fields = ["status", "sector", "province", "currency", "urgency"]

    def get_form_class(self):
        """Built once: no filter's form field depends on the request (django-filter would build
        the form class, and each filter's field, on every list request)."""
        form_class = type(self).__dict__.get("_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            type(self)._form_class = form_class
        return form_class

    def filter_organization(self, queryset, name, value):
        """Anonymous callers cannot group a sensitive organization's needs by its id."""
        if self.request.user.is_authenticated:
            return queryset.filter(organization_id=value)
        return queryset.filter(organization_id=value, organization__sensitive=False)

    def filter_q(self, queryset, name, value):
        """Titles are restricted: searching them takes a sign-in."""
        if not self.request.user.is_authenticated:
            raise ValidationError({"q": [gettext("Searching titles requires signing in.")]})
        return queryset.filter(title__icontains=value)

    def filter_external_reference(self, queryset, name, value):
        """Among the caller's organizations' needs only (nobody looks another's ids up)."""
        return queryset.filter(
            organization_id__in=member_org_ids(self.request), external_reference=value
        )
