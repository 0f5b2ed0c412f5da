"""Which webhook endpoints a caller may see and manage."""

from django.db.models import Q, QuerySet

from aidmatch.access import MemberRole
from apps.core.actors import is_api_key
from apps.organizations.models import Membership
from apps.webhooks.models import OwnerKind, WebhookEndpoint


def admin_org_ids(user) -> list:
    return list(
        Membership.objects.filter(user=user, role=MemberRole.ADMIN).values_list(
            "organization_id", flat=True
        )
    )


def endpoints_visible_to(request) -> QuerySet[WebhookEndpoint]:
    """An API key: its organization's endpoints. A person: their own (as donor or verifier)
    and those of the organizations they administer."""
    if is_api_key(request):
        return WebhookEndpoint.objects.filter(
            owner_kind=OwnerKind.ORGANIZATION, organization_id=request.auth.organization_id
        )
    user = request.user
    return WebhookEndpoint.objects.filter(
        Q(owner_kind__in=[OwnerKind.DONOR, OwnerKind.VERIFIER], user=user)
        | Q(owner_kind=OwnerKind.ORGANIZATION, organization_id__in=admin_org_ids(user))
    )
