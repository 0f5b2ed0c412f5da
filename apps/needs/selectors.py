"""Which needs a caller may see, and at what level of detail (DESIGN.md, "Data protection")."""

from enum import IntEnum

from django.db.models import Q, QuerySet

from aidmatch.lifecycle import NEED_PUBLIC
from apps.needs.models import Need
from apps.organizations.access import is_verifier, member_org_ids


class Detail(IntEnum):
    PUBLIC = 1  # anyone: sector, province, amounts, urgency, deadline
    RESTRICTED = 2  # signed-in: title, description, district, organization (pseudonym if sensitive)
    CONFIDENTIAL = 3  # the organization's members and verifiers: everything


def needs_visible_to(request) -> QuerySet[Need]:
    qs = Need.objects.select_related(
        "organization", "sector", "province", "district", "currency"
    ).prefetch_related("line_items")
    if is_verifier(request):
        return qs
    public = Q(status__in=NEED_PUBLIC)
    if not request.user.is_authenticated:
        return qs.filter(public)
    return qs.filter(public | Q(organization_id__in=member_org_ids(request)))


def detail_level(request, need: Need) -> Detail:
    if is_verifier(request) or need.organization_id in member_org_ids(request):
        return Detail.CONFIDENTIAL
    if request.user.is_authenticated:
        return Detail.RESTRICTED
    return Detail.PUBLIC
