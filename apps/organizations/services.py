"""Writes for organizations, memberships and partner API keys; each one transaction."""

from django.db import transaction

from aidmatch.access import MemberRole, unknown_scopes
from aidmatch.errors import NotPermitted, RuleViolation, StateConflict
from apps.accounts.models import User
from apps.organizations.models import ApiKey, Membership, Organization

EDITABLE_FIELDS = frozenset(
    {
        "name",
        "kind",
        "afghan_led",
        "sensitive",
        "registration_number",
        "registry",
        "iati_org_id",
        "province",
        "contact_name",
        "contact_email",
        "contact_phone",
        "address",
        "principals",
    }
)


def _require_admin(*, user: User, organization: Organization) -> None:
    is_admin = Membership.objects.filter(
        user=user, organization=organization, role=MemberRole.ADMIN
    ).exists()
    if not is_admin:
        raise NotPermitted("Only an admin of this organization may do this.")


@transaction.atomic
def organization_register(*, creator: User, **fields) -> Organization:
    """Register an organization; its creator becomes its first admin. Status starts pending."""
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise RuleViolation(f"Unknown fields: {', '.join(sorted(unknown))}")
    organization = Organization.objects.create(created_by=creator, **fields)
    Membership.objects.create(user=creator, organization=organization, role=MemberRole.ADMIN)
    return organization


@transaction.atomic
def organization_update(*, actor: User, organization: Organization, **changes) -> Organization:
    _require_admin(user=actor, organization=organization)
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise RuleViolation(f"Unknown fields: {', '.join(sorted(unknown))}")
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    for name, value in changes.items():
        setattr(organization, name, value)
    organization.save()
    return organization


@transaction.atomic
def membership_add(
    *, actor: User, organization: Organization, email: str, role: MemberRole
) -> Membership:
    _require_admin(user=actor, organization=organization)
    user = User.objects.filter(email=email.strip().lower(), is_active=True).first()
    if user is None:
        raise RuleViolation(
            "No active account has this email; ask the person to register first.",
            errors={"email": ["No active account has this email."]},
        )
    membership, created = Membership.objects.get_or_create(
        user=user, organization=organization, defaults={"role": role}
    )
    if not created:
        raise StateConflict("This person is already a member of the organization.")
    return membership


@transaction.atomic
def membership_change_role(*, actor: User, membership: Membership, role: MemberRole) -> Membership:
    _require_admin(user=actor, organization=membership.organization)
    locked = _lock_memberships(membership.organization_id)
    membership = locked[membership.pk]
    if membership.role == MemberRole.ADMIN and role != MemberRole.ADMIN:
        _refuse_last_admin(locked.values(), membership)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, actor: User, membership: Membership) -> None:
    if membership.user_id != actor.pk:  # anyone may leave; removing others takes an admin
        _require_admin(user=actor, organization=membership.organization)
    locked = _lock_memberships(membership.organization_id)
    membership = locked[membership.pk]
    if membership.role == MemberRole.ADMIN:
        _refuse_last_admin(locked.values(), membership)
    membership.delete()


def _lock_memberships(organization_id) -> dict[int, Membership]:
    rows = Membership.objects.filter(organization_id=organization_id).order_by("pk")
    return {m.pk: m for m in rows.select_for_update()}


def _refuse_last_admin(memberships, leaving: Membership) -> None:
    admins = [m for m in memberships if m.role == MemberRole.ADMIN and m.pk != leaving.pk]
    if not admins:
        raise StateConflict("An organization keeps at least one admin.")


@transaction.atomic
def api_key_create(
    *, actor: User, organization: Organization, name: str, scopes: list[str], expiry_date=None
) -> tuple[ApiKey, str]:
    """A new key; its text is returned once and only its digest is stored."""
    _require_admin(user=actor, organization=organization)
    bad = unknown_scopes(scopes)
    if bad:
        raise RuleViolation(
            f"Unknown scopes: {', '.join(bad)}",
            errors={"scopes": [f"Unknown scope '{s}'." for s in bad]},
        )
    if not scopes:
        raise RuleViolation(
            "Give at least one scope.", errors={"scopes": ["Give at least one scope."]}
        )
    return ApiKey.objects.create_key(
        organization=organization,
        name=name,
        scopes=sorted(set(scopes)),
        created_by=actor,
        expiry_date=expiry_date,
    )


@transaction.atomic
def api_key_revoke(*, actor: User, api_key: ApiKey) -> ApiKey:
    _require_admin(user=actor, organization=api_key.organization)
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if not api_key.revoked:
        api_key.revoked = True
        api_key.save(update_fields=["revoked"])
    return api_key
