from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from apps.core.fields import decrypt_later, decrypt_now, is_confidential_field
from apps.organizations.access import can_see_confidential, is_verifier, member_org_ids
from apps.organizations.models import (
    ApiKey,
    Invitation,
    Membership,
    Organization,
    OrganizationStatus,
)


def organizations_visible_to(request) -> QuerySet[Organization]:
    """Verifiers see every organization; members see their own; other signed-in callers see
    verified ones. Anything else is a 404."""
    qs = Organization.objects.select_related("province")
    if is_verifier(request):
        return qs
    return qs.filter(Q(status=OrganizationStatus.VERIFIED) | Q(pk__in=member_org_ids(request)))


# Contacts and principals: encrypted at rest, shown to members and verifiers only.
SECRETS = tuple(f.name for f in Organization._meta.concrete_fields if is_confidential_field(f))


def organizations_to_list(request) -> QuerySet[Organization]:
    """``organizations_visible_to`` with the secrets left encrypted until ``reveal_to_insiders``
    decrypts them on the rows the caller may read in full (an outsider's page decrypts none)."""
    return decrypt_later(organizations_visible_to(request), *SECRETS)


def reveal_to_insiders(request, organizations) -> list[bool]:
    """For each organization (from ``organizations_to_list``), whether the caller sees it in
    full; the secrets of those are decrypted."""
    insider = [can_see_confidential(request, o.pk) for o in organizations]
    decrypt_now([o for o, i in zip(organizations, insider, strict=True) if i], *SECRETS)
    return insider


def organization_for_insider(request, pk) -> Organization:
    """An organization for its members and verifiers only (its members, invitations,
    documents): anyone else gets a 404, as if it did not exist."""
    organization = get_object_or_404(organizations_visible_to(request), pk=pk)
    if not can_see_confidential(request, organization.pk):
        raise Http404
    return organization


def member_emails(organization_id, roles) -> list[str]:
    """The email addresses of an organization's active members with one of ``roles``."""
    rows = Membership.objects.filter(
        organization_id=organization_id, role__in=roles, user__is_active=True
    )
    return sorted(rows.values_list("user__email", flat=True))


def member_recipients(organization_id, roles) -> list[tuple[str, str]]:
    """(email, language) of an organization's active members with one of ``roles``: whom to
    email, and in which language (User.language, "" when not chosen)."""
    rows = Membership.objects.filter(
        organization_id=organization_id, role__in=roles, user__is_active=True
    )
    return sorted(rows.values_list("user__email", "user__language"))


def memberships_of(organization: Organization) -> QuerySet[Membership]:
    return organization.memberships.select_related("user").order_by("created_at")


def api_keys_of(organization_ids) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(organization_id__in=organization_ids).select_related(
        "organization", "created_by"
    )


def invitations_of(organization: Organization) -> QuerySet[Invitation]:
    return organization.invitations.all()
