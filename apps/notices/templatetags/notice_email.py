"""``{% load notice_email %}``: what the email templates need beside ``afghan_l10n``."""

import datetime

from django import template

from apps.core import l10n

register = template.Library()


@register.filter
def clock(value: datetime.datetime | None) -> str:
    """The time of day in UTC, ``14:05`` (Eastern digits in Dari and Pashto); the template
    says "UTC" in its own words."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC)
    return l10n.digits(f"{value:%H:%M}")
