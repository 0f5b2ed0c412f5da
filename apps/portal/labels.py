"""The portal's words for the machine values it shows (statuses, roles, channels, sectors and the
API's placeholder donor names): the values stay English in the API; the pages translate them."""

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

# The reference data's sector names (apps/reference/data/sectors.csv), for makemessages.
SECTORS = (
    gettext_noop("Food Security"),
    gettext_noop("Education"),
    gettext_noop("Health"),
    gettext_noop("Nutrition"),
    gettext_noop("Water, Sanitation and Hygiene"),
    gettext_noop("Emergency Shelter and NFI"),
    gettext_noop("Protection"),
    gettext_noop("Child Protection"),
    gettext_noop("Gender-Based Violence"),
    gettext_noop("Logistics"),
    gettext_noop("Emergency Telecommunications"),
    gettext_noop("Camp Coordination and Camp Management"),
    gettext_noop("Early Recovery"),
    gettext_noop("Multi-sector"),
)

# What AllocationSerializer.get_donor shows instead of a name (apps/matching/api/serializers.py).
DONOR_PLACEHOLDERS = frozenset(
    {gettext_noop("anonymous donor"), gettext_noop("donor"), gettext_noop("donor institution")}
)


def status_label(value: str) -> str:
    return str(STATUS.get(value, value))


def donor_label(value: str) -> str:
    """The donor as the API shows it to the organization, its placeholders translated."""
    return gettext(value) if value in DONOR_PLACEHOLDERS else value


def sector_label(name: str) -> str:
    return gettext(name) if name in SECTORS else name


def place_label(place) -> str:
    """A province's or district's name in the active language when the reference data has it."""
    from django.utils.translation import get_language

    column = {"fa": "name_dari", "ps": "name_pashto"}.get((get_language() or "")[:2])
    return (getattr(place, column, "") if column else "") or place.name


# The pages' base template (apps/core/templates/aidmatch/base.html) as the portal shows it: its
# words are in the portal's catalogs too, so that no portal page has an English word left (and
# Pashto, which Django has no catalog for, gets its own).
BASE_TEMPLATE = (gettext_noop("Skip to content"), gettext_noop("Language"), gettext_noop("Change"))
