"""Who hears about a tranche that was sent but not confirmed, and what they are told.

The receiving organization is asked to confirm receipt (or say that nothing arrived); the
donor is told, so it can chase its channel. Only what both already see of the tranche is sent:
amounts, channel, dates and the tranche's id (the donor gets the organization's public name).
"""

import logging

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from aidmatch.access import MemberRole
from aidmatch.money import format_money
from apps.disbursements.models import Disbursement
from apps.organizations.selectors import member_emails

logger = logging.getLogger(__name__)


def donor_emails(disbursement: Disbursement) -> list[str]:
    """Who to tell on the donor side of a tranche (or a pledge: the same two fields): the donor
    user, or its institution's admins."""
    if disbursement.donor_id is not None and disbursement.donor.is_active:
        return [disbursement.donor.email]
    if disbursement.donor_organization_id is not None:
        return member_emails(disbursement.donor_organization_id, [MemberRole.ADMIN])
    return []


def notify_unconfirmed(disbursement: Disbursement) -> int:
    """Email the receiving organization's members and the donor; the number of messages sent.
    A mail server that fails is logged, never raised: the flag stays on the tranche either way."""
    days = settings.DISBURSEMENT_CONFIRM_DAYS
    what = (
        f"Tranche {disbursement.pk}: {format_money(disbursement.amount, disbursement.currency)} "
        f"by {disbursement.channel}, sent on {disbursement.sent_at:%Y-%m-%d}."
    )
    messages = []
    recipients = member_emails(disbursement.organization_id, [MemberRole.ADMIN, MemberRole.STAFF])
    if recipients:
        messages.append(
            EmailMessage(
                subject="AidMatch: please confirm a tranche sent to you",
                body=(
                    f"{what}\nIt has not been confirmed for {days} days. When the money "
                    "arrives, confirm receipt (POST /api/v1/disbursements/"
                    f"{disbursement.pk}/confirm-receipt); if it never arrived, tell the "
                    "donor or a verifier."
                ),
                to=recipients,
            )
        )
    donors = donor_emails(disbursement)
    if donors:
        messages.append(
            EmailMessage(
                subject="AidMatch: a tranche you sent is not confirmed yet",
                body=(
                    f"{what}\n{disbursement.organization.public_name()} has not confirmed "
                    f"receipt for {days} days. Check with your channel, or mark the tranche "
                    "failed or returned if the money did not arrive."
                ),
                to=donors,
            )
        )
    if not messages:
        return 0
    try:
        return get_connection().send_messages(messages) or 0
    except Exception:  # the mail server is down: the flag and the log still tell
        logger.exception("could not notify about unconfirmed tranche %s", disbursement.pk)
        return 0
