"""What the caller is to an organization: member (which role), verifier, or nobody."""

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
