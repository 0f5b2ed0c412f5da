"""Which needs a caller may see, and at what level of detail (DESIGN.md, "Data protection")."""

from collections.abc import Iterable
from enum import IntEnum

from django.db.models import Q, QuerySet

from aidmatch.lifecycle import NEED_PUBLIC
from apps.core.fields import decrypt_later, decrypt_now
from apps.core.serializers import prefetch_list
from apps.needs.models import Need
from apps.organizations.access import is_verifier, member_org_ids
from apps.organizations.models import Organization

# What showing a need reads of its organization (its name or pseudonym, whether it is
# sensitive); the rest, its encrypted contacts and principals above all, is never loaded.
_ORGANIZATION_SHOWN = {"id", "name", "pseudonym", "sensitive"}
_ORGANIZATION_UNUSED = tuple(
    f"organization__{f.name}"
    for f in Organization._meta.concrete_fields
    if f.name not in _ORGANIZATION_SHOWN
)


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


def needs_to_show(request) -> QuerySet[Need]:
    """``needs_visible_to``, loaded for showing at the caller's level of detail: the organization
    (what is shown of it: no contacts) and the line items for signed-in callers only, and the
    exact location left encrypted until ``reveal_locations`` decrypts it for the rows the caller
    may read in full. Codes (sector, province, district, currency) are shown from the row's own
    columns, with no join."""
    qs = needs_visible_to(request).select_related(None).prefetch_related(None)
    qs = decrypt_later(qs, "location_detail")
    if not (request.user.is_authenticated or member_org_ids(request)):
        return qs
    return (
        qs.select_related("organization")
        .defer(*_ORGANIZATION_UNUSED)
        .prefetch_related(prefetch_list("line_items"))
    )


def reveal_locations(needs: Iterable[Need]) -> None:
    """Decrypt the exact location of these needs (loaded by ``needs_to_show``): only of the
    rows the caller may read in full, so that nobody else's response costs a decryption."""
    decrypt_now(needs, "location_detail")


def detail_level(request, need: Need) -> Detail:
    if is_verifier(request) or need.organization_id in member_org_ids(request):
        return Detail.CONFIDENTIAL
    if request.user.is_authenticated:
        return Detail.RESTRICTED
    return Detail.PUBLIC
