"""The portal's words for the machine values it shows (statuses, roles, channels and the API's
placeholder donor names): the values stay English in the API; the pages translate them.
Provinces and sectors have their names in the reference data (``local_name()``)."""

from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

STATUS = {
    # needs
    "draft": _("Draft"),
    "submitted": _("Submitted"),
    "open": _("Open for funding"),
    "partially_funded": _("Partially funded"),
    "funded": _("Funded"),
    "completed": _("Completed"),
    "cancelled": _("Cancelled"),
    "expired": _("Expired"),
    # allocations
    "proposed": _("Proposed"),
    "committed": _("Committed"),
    "disbursing": _("Being sent"),
    "disbursed": _("Sent in full"),
    "declined": _("Declined"),
    "released": _("Released"),
    # tranches
    "scheduled": _("Scheduled"),
    "sent": _("Sent"),
    "received": _("Received"),
    "failed": _("Failed"),
    "returned": _("Returned"),
    # invitations
    "pending": _("Pending"),
    "accepted": _("Accepted"),
    "revoked": _("Revoked"),
}

ROLE = {"admin": _("Admin"), "staff": _("Staff")}

CHANNEL = {
    "hawala": _("Hawala"),
    "bank": _("Bank transfer"),
    "mobile_money": _("Mobile money"),
    "un_cash": _("UN cash"),
    "in_kind": _("In kind"),
}

# What AllocationSerializer.get_donor shows instead of a name (apps/matching/api/serializers.py).
DONOR_PLACEHOLDERS = frozenset(
    {gettext_noop("anonymous donor"), gettext_noop("donor"), gettext_noop("donor institution")}
)


def status_label(value: str) -> str:
    return str(STATUS.get(value, value))


def donor_label(value: str) -> str:
    """The donor as the API shows it to the organization, its placeholders translated."""
    return gettext(value) if value in DONOR_PLACEHOLDERS else value
