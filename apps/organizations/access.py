"""What the caller is to an organization: member (which role), verifier, or nobody."""

from django.db.models import Q

from aidmatch.access import MemberRole
from apps.core.actors import is_api_key
from apps.organizations.models import Membership


def is_verifier(request) -> bool:
    return not is_api_key(request) and bool(getattr(request.user, "is_verifier", False))


def member_org_ids(request) -> set:
    """The organizations the caller acts for: its key's one, or the user's memberships."""
    if is_api_key(request):
        return {request.auth.organization_id}
    user = request.user
    if not user.is_authenticated:
        return set()
    cached = getattr(request, "_member_org_ids", None)
    if cached is None:
        cached = set(Membership.objects.filter(user=user).values_list("organization_id", flat=True))
        request._member_org_ids = cached
    return cached


def member_role(request, organization_id) -> MemberRole | None:
    """The user's role in an organization (None for API keys and non-members)."""
    if is_api_key(request) or not request.user.is_authenticated:
        return None
    role = (
        Membership.objects.filter(user=request.user, organization_id=organization_id)
        .values_list("role", flat=True)
        .first()
    )
    return MemberRole(role) if role else None


def can_see_confidential(request, organization_id) -> bool:
    return is_verifier(request) or organization_id in member_org_ids(request)


def is_donor_side(request, obj) -> bool:
    """Whether the caller is the donor side of ``obj`` (a pledge or a tranche: its ``donor``
    user, or the members and keys of its ``donor_organization``)."""
    user = request.user
    if not is_api_key(request) and user.is_authenticated and obj.donor_id == user.pk:
        return True
    return obj.donor_organization_id is not None and (
        obj.donor_organization_id in member_org_ids(request)
    )


def donor_side_q(request) -> Q:
    """``is_donor_side`` as a filter."""
    orgs = Q(donor_organization_id__in=member_org_ids(request))
    if is_api_key(request) or not request.user.is_authenticated:
        return orgs
    return Q(donor=request.user) | orgs
