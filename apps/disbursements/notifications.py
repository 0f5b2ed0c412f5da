"""Who hears about a tranche that was sent but not confirmed, and what they are told.

The receiving organization is asked to confirm receipt (or say that nothing arrived); the
donor is told, so it can chase its channel. Only what both already see of the tranche is sent:
amounts, channel, dates and the tranche's id (the donor gets the organization's public name).
The texts are the templates ``notices/email/tranche_unconfirmed_{organization,donor}_*.txt``,
in each recipient's language (apps.notices.emails).
"""

import logging

from django.conf import settings
from django.core.mail import get_connection

from aidmatch.access import MemberRole
from apps.disbursements.models import Disbursement
from apps.notices.emails import Recipient, compose, exact
from apps.organizations.selectors import member_recipients

logger = logging.getLogger(__name__)


def donor_recipients(disbursement: Disbursement) -> list[Recipient]:
    """Who to tell on the donor side of a tranche (or a pledge: the same two fields), with
    their languages: the donor user, or its institution's admins."""
    if disbursement.donor_id is not None and disbursement.donor.is_active:
        return [(disbursement.donor.email, disbursement.donor.language)]
    if disbursement.donor_organization_id is not None:
        return member_recipients(disbursement.donor_organization_id, [MemberRole.ADMIN])
    return []


def notify_unconfirmed(disbursement: Disbursement) -> int:
    """Email the receiving organization's members and the donor; the number of messages sent.
    A mail server that fails is logged, never raised: the flag stays on the tranche either way."""
    context = {
        "id": str(disbursement.pk),
        "amount": exact(disbursement.amount, disbursement.currency),
        "currency": disbursement.currency_id,
        "channel": disbursement.channel,
        "sent_on": disbursement.sent_at,
        "days": settings.DISBURSEMENT_CONFIRM_DAYS,
    }
    organization = member_recipients(
        disbursement.organization_id, [MemberRole.ADMIN, MemberRole.STAFF]
    )
    messages = compose("tranche_unconfirmed_organization", context, organization)
    donor_context = {**context, "organization": disbursement.organization.public_name()}
    messages += compose("tranche_unconfirmed_donor", donor_context, donor_recipients(disbursement))
    if not messages:
        return 0
    try:
        return get_connection().send_messages(messages) or 0
    except Exception:  # the mail server is down: the flag and the log still tell
        logger.exception("could not notify about unconfirmed tranche %s", disbursement.pk)
        return 0
