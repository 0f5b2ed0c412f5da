"""Invitations: how a person joins an organization, with their consent.

An admin of a verified organization invites an email address with a role. The answer is the
same whether or not an account has the address and whether or not its owner is already a
member, and the invitee's name is never shown before they accept. (Only the email's language
depends on the account: its owner's chosen language, else the admin's, else English.)
The address gets a single-use token by email; only the token's SHA-256 digest is stored. The
invitee, signed in with that address, accepts (and becomes a member with the role) or
declines. Invitations expire after ``INVITATION_TTL_DAYS``; admins revoke pending ones.
Inviting an address that already has a pending invitation replaces it (the old one is revoked,
a new token is sent): that is also how an admin resends a lost or expired invitation.
"""

import functools
import hashlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_noop as _

from aidmatch.access import MemberRole
from aidmatch.errors import NotPermitted, RuleViolation, StateConflict
from aidmatch.lifecycle import TRANSITIONS, InvitationStatus, OrganizationStatus
from apps.accounts.models import User
from apps.audit.services import audit_record, audit_snapshot
from apps.notices.emails import compose
from apps.organizations import selectors
from apps.organizations.models import Invitation, Membership, Organization
from apps.organizations.services import _require_admin

logger = logging.getLogger(__name__)

IS = InvitationStatus
TOKEN_PREFIX = "inv_"  # noqa: S105 (a prefix, not a secret)
# Live (pending, unexpired) invitations an organization may have at once: inviting sends email
# to any address, so an admin account cannot be turned into a mailer.
MAX_PENDING = 100
# What the audit trail keeps of an invitation: never the address (nor the token's digest).
AUDITED_FIELDS = ["organization", "role", "status", "expires_at", "invited_by", "accepted_by"]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_by_token(token: str) -> Invitation | None:
    return Invitation.objects.filter(digest=token_digest(token)).first()


def _audit(action: str, invitation: Invitation, *, before=None, detail=None) -> None:
    audit_record(
        action=action,
        obj=invitation,
        before=before,
        after=audit_snapshot(invitation, fields=AUDITED_FIELDS),
        detail=detail,
    )


@transaction.atomic
def invitation_list(*, actor: User, organization: Organization):
    """The organization's invitations, for its admins."""
    _require_admin(user=actor, organization=organization)
    return selectors.invitations_of(organization)


def invitation_create(
    *, actor: User, organization: Organization, email: str, role: MemberRole
) -> Invitation:
    """Invite ``email`` (kept as typed) with ``role``; the token goes out by email on commit."""
    _require_admin(user=actor, organization=organization)
    # Locking the organization serializes its invitations (one pending per address).
    organization = Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)
    if organization.status != OrganizationStatus.VERIFIED:
        raise StateConflict(
            _(
                "Only a verified organization can invite members; this one is '%(status)s'. "
                "Invite once a verifier has verified it."
            ),
            params={"status": organization.status},
        )
    email = email.strip()
    now = timezone.now()
    pending = Invitation.objects.filter(organization=organization, status=IS.PENDING)
    live_others = pending.filter(expires_at__gt=now).exclude(email__iexact=email)
    if live_others.count() >= MAX_PENDING:
        raise RuleViolation(
            _(
                "This organization already has %(count)s pending invitations; revoke some or "
                "wait until they are answered."
            ),
            params={"count": MAX_PENDING},
        )
    replaced = list(
        pending.filter(email__iexact=email).order_by("pk").select_for_update(no_key=True)
    )
    for old in replaced:
        old.status, old.responded_at = IS.REVOKED, now
        old.save(update_fields=["status", "responded_at"])
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        digest=token_digest(token),
        expires_at=now + timedelta(days=settings.INVITATION_TTL_DAYS),
        invited_by=actor,
    )
    for old in replaced:
        _audit(
            "invitation.revoke",
            old,
            before={"status": IS.PENDING},
            detail={"replaced_by": str(invitation.pk)},
        )
    _audit("invitation.create", invitation)
    # In the invitee's language when their account chose one, else in the language the admin
    # is using now (the request's: the invitee is likely to share it), else English.
    language = translation.get_language() or ""
    transaction.on_commit(
        functools.partial(_send_invitation, invitation=invitation, token=token, language=language)
    )
    return invitation


def _send_invitation(*, invitation: Invitation, token: str, language: str) -> None:
    """Email the token to the invited address. A mail server that fails is logged, never
    raised: the admin sees the invitation pending and can invite again (a new token)."""
    context = {
        "organization": invitation.organization.public_name(),
        "role": invitation.role,
        "token": token,
        # The portal's page (apps.portal.views.invitations); the template adds the language.
        "link": f"{settings.SITE_URL}{reverse('portal:invitation')}?token={token}",
        "expires_at": invitation.expires_at,
    }
    recipients = [(invitation.email, _invitee_language(invitation.email) or language)]
    try:
        for message in compose("invitation", context, recipients):
            message.send()
    except Exception:  # the mail server is down: the invitation stays pending
        logger.exception("could not send invitation %s", invitation.pk)


def _invitee_language(email: str) -> str:
    """The language the address's account chose ("" when there is no such account, or it chose
    none). Only the email's language depends on it: the admin's answer is the same either way."""
    found = User.objects.filter(email__iexact=email, is_active=True).values_list(
        "language", flat=True
    )
    return next((language for language in found if language), "")


def _lock(invitation: Invitation) -> Invitation:
    return (
        Invitation.objects.select_for_update(no_key=True, of=("self",))
        .select_related("organization")
        .get(pk=invitation.pk)
    )


def _require_invitee(user: User, invitation: Invitation) -> None:
    if user.email.casefold() != invitation.email.casefold():
        raise NotPermitted(
            _(
                "This invitation was sent to another email address: sign in with that address to "
                "answer it."
            )
        )


def _require_move(invitation: Invitation, target: InvitationStatus) -> None:
    """The invitation may become ``target`` (TRANSITIONS["invitation"]); only a revoke works
    on an expired one."""
    if target != IS.REVOKED and invitation.shown_status() == IS.EXPIRED:
        raise StateConflict(
            _(
                "This invitation expired at %(expired_at)s UTC; ask the organization to invite "
                "you again."
            ),
            params={"expired_at": f"{invitation.expires_at:%Y-%m-%d %H:%M}"},
        )
    if target not in TRANSITIONS["invitation"][invitation.status]:
        raise StateConflict(
            _("This invitation is %(status)s; it cannot be %(target)s now."),
            params={"status": invitation.status, "target": target},
        )


@transaction.atomic
def invitation_accept(*, user: User, invitation: Invitation) -> Membership:
    """The signed-in invitee joins the organization with the invited role."""
    invitation = _lock(invitation)
    _require_invitee(user, invitation)
    _require_move(invitation, IS.ACCEPTED)
    organization = invitation.organization
    if organization.status != OrganizationStatus.VERIFIED:
        raise StateConflict(
            _("This organization cannot take new members now; ask it to invite you again later.")
        )
    if Membership.objects.filter(user=user, organization=organization).exists():
        raise StateConflict(
            _(
                "You are already a member of this organization; your role is unchanged. Decline "
                "the invitation, or ask an admin to change your role."
            )
        )
    membership = Membership.objects.create(
        user=user, organization=organization, role=invitation.role
    )
    invitation.status, invitation.accepted_by = IS.ACCEPTED, user
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "accepted_by", "responded_at"])
    _audit("invitation.accept", invitation, before={"status": IS.PENDING})
    audit_record(
        action="membership.add",
        obj=membership,
        after=audit_snapshot(membership),
        detail={"invitation": str(invitation.pk)},
    )
    return membership


@transaction.atomic
def invitation_decline(*, user: User, invitation: Invitation) -> Invitation:
    invitation = _lock(invitation)
    _require_invitee(user, invitation)
    _require_move(invitation, IS.DECLINED)
    invitation.status, invitation.responded_at = IS.DECLINED, timezone.now()
    invitation.save(update_fields=["status", "responded_at"])
    _audit("invitation.decline", invitation, before={"status": IS.PENDING})
    return invitation


@transaction.atomic
def invitation_revoke(*, actor: User, invitation: Invitation) -> Invitation:
    """An admin withdraws a pending (or expired) invitation; revoking twice changes nothing."""
    _require_admin(user=actor, organization=invitation.organization)
    invitation = _lock(invitation)
    if invitation.status == IS.REVOKED:
        return invitation
    _require_move(invitation, IS.REVOKED)
    invitation.status, invitation.responded_at = IS.REVOKED, timezone.now()
    invitation.save(update_fields=["status", "responded_at"])
    _audit("invitation.revoke", invitation, before={"status": IS.PENDING})
    return invitation
