"""``{% load portal %}``: the portal's words for machine values (apps.portal.labels)."""

from django import template

from apps.portal import labels

register = template.Library()


@register.filter
def status_label(value):
    return labels.status_label(value)


@register.filter
def role_label(value):
    return str(labels.ROLE.get(value, value))


@register.filter
def channel_label(value):
    return str(labels.CHANNEL.get(value, value))


@register.filter
def percent(value):
    """A percentage ("12.5" as the API gives it) with the locale's digits and sign."""
    from decimal import Decimal

    from apps.core import l10n

    sign = "%" if l10n.language_of() == "en" else "٪"
    return f"{l10n.format_number(Decimal(str(value)))}{sign}"
