"""Writes for organizations, memberships and partner API keys; each one transaction.

People join an organization by invitation only (apps/organizations/invitations.py)."""

from django.db import transaction
from django.utils.translation import gettext_noop as _

from aidmatch.access import MemberRole, unknown_scopes
from aidmatch.errors import NotPermitted, RuleViolation, StateConflict
from apps.accounts.models import User
from apps.audit.services import (
    audit_changes,
    audit_record,
    audit_snapshot,
    confidential_field_names,
)
from apps.organizations.models import ApiKey, Membership, Organization

EDITABLE_FIELDS = frozenset(
    {
        "name",
        "aliases",
        "kind",
        "afghan_led",
        "sensitive",
        "registration_number",
        "registry",
        "iati_org_id",
        "publish_open_data",
        "province",
        "time_zone",
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
        raise NotPermitted(_("Only an admin of this organization may do this."))


@transaction.atomic
def organization_register(*, creator: User, **fields) -> Organization:
    """Register an organization; its creator becomes its first admin. Status starts pending."""
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise RuleViolation(
            _("Unknown fields: %(fields)s"), params={"fields": ", ".join(sorted(unknown))}
        )
    organization = Organization.objects.create(created_by=creator, **fields)
    membership = Membership.objects.create(
        user=creator, organization=organization, role=MemberRole.ADMIN
    )
    organization = _screen(organization, trigger="registration")
    audit_record(
        action="organization.register",
        obj=organization,
        after=audit_snapshot(organization),
        detail={"confidential_fields_set": _confidential(fields), "admin": membership.user_id},
    )
    return organization


# Changing any of these screens the organization again against the sanctions lists.
SCREENED_FIELDS = frozenset({"name", "aliases", "principals"})


def _screen(organization: Organization, *, trigger: str) -> Organization:
    """Sanctions screening (apps/screening); a hit moves the organization to `screening`."""
    from apps.screening.services import organization_screen

    return organization_screen(organization_id=organization.pk, trigger=trigger).organization


def _confidential(fields) -> list[str]:
    """The names (never the values) of the confidential fields among ``fields``."""
    return sorted(set(fields) & confidential_field_names(Organization))


@transaction.atomic
def organization_update(*, actor: User, organization: Organization, **changes) -> Organization:
    _require_admin(user=actor, organization=organization)
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise RuleViolation(
            _("Unknown fields: %(fields)s"), params={"fields": ", ".join(sorted(unknown))}
        )
    organization = Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)
    before = audit_snapshot(organization)
    confidential_before = {n: getattr(organization, n) for n in _confidential(changes)}
    for name, value in changes.items():
        setattr(organization, name, value)
    organization.save()
    if SCREENED_FIELDS & set(changes):
        organization = _screen(organization, trigger="names changed")
    changed_before, changed_after = audit_changes(before, audit_snapshot(organization))
    changed_before.pop("updated_at", None)
    changed_after.pop("updated_at", None)
    audit_record(
        action="organization.update",
        obj=organization,
        before=changed_before,
        after=changed_after,
        detail={
            "confidential_fields_changed": [
                n for n, v in confidential_before.items() if getattr(organization, n) != v
            ]
        },
    )
    return organization


@transaction.atomic
def membership_change_role(*, actor: User, membership: Membership, role: MemberRole) -> Membership:
    _require_admin(user=actor, organization=membership.organization)
    locked = _lock_memberships(membership.organization_id)
    membership = locked[membership.pk]
    if membership.role == MemberRole.ADMIN and role != MemberRole.ADMIN:
        _refuse_last_admin(locked.values(), membership)
    before = audit_snapshot(membership, fields=["user", "organization", "role"])
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        action="membership.change_role",
        obj=membership,
        before=before,
        after=audit_snapshot(membership, fields=["user", "organization", "role"]),
    )
    return membership


@transaction.atomic
def membership_remove(*, actor: User, membership: Membership) -> None:
    if membership.user_id != actor.pk:  # anyone may leave; removing others takes an admin
        _require_admin(user=actor, organization=membership.organization)
    locked = _lock_memberships(membership.organization_id)
    membership = locked[membership.pk]
    if membership.role == MemberRole.ADMIN:
        _refuse_last_admin(locked.values(), membership)
    before = audit_snapshot(membership)
    audit_record(action="membership.remove", obj=membership, before=before)
    membership.delete()


def _lock_memberships(organization_id) -> dict[int, Membership]:
    rows = Membership.objects.filter(organization_id=organization_id).order_by("pk")
    return {m.pk: m for m in rows.select_for_update(no_key=True)}


def _refuse_last_admin(memberships, leaving: Membership) -> None:
    admins = [m for m in memberships if m.role == MemberRole.ADMIN and m.pk != leaving.pk]
    if not admins:
        raise StateConflict(_("An organization keeps at least one admin."))


@transaction.atomic
def api_key_create(
    *, actor: User, organization: Organization, name: str, scopes: list[str], expiry_date=None
) -> tuple[ApiKey, str]:
    """A new key; its text is returned once and only its digest is stored."""
    _require_admin(user=actor, organization=organization)
    bad = unknown_scopes(scopes)
    if bad:
        raise RuleViolation(
            _("Unknown scopes: %(scopes)s"),
            errors={"scopes": [_("Unknown scopes: %(scopes)s")]},
            params={"scopes": ", ".join(bad)},
        )
    if not scopes:
        raise RuleViolation(
            _("Give at least one scope."), errors={"scopes": [_("Give at least one scope.")]}
        )
    api_key, key = ApiKey.objects.create_key(
        organization=organization,
        name=name,
        scopes=sorted(set(scopes)),
        created_by=actor,
        expiry_date=expiry_date,
    )
    audit_record(action="api_key.create", obj=api_key, after=audit_snapshot(api_key))
    return api_key, key


@transaction.atomic
def api_key_revoke(*, actor: User, api_key: ApiKey) -> ApiKey:
    _require_admin(user=actor, organization=api_key.organization)
    api_key = ApiKey.objects.select_for_update(no_key=True).get(pk=api_key.pk)
    if not api_key.revoked:
        api_key.revoked = True
        api_key.save(update_fields=["revoked"])
        audit_record(
            action="api_key.revoke",
            obj=api_key,
            before={"revoked": False},
            after={"revoked": True},
        )
    return api_key
