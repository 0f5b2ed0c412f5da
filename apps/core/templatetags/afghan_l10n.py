"""Template filters for pages and emails: ``{% load afghan_l10n %}``, then
``{{ need.created_at|day }}``, ``{{ need.amount|money:need.currency_id }}``,
``{{ count|number }}``. Each formats in the active language (apps.core.l10n)."""

from django import template

from apps.core import l10n

register = template.Library()


@register.filter
def day(value):
    return l10n.format_day(value)


@register.filter
def money(amount, currency):
    return "" if amount is None else l10n.format_money(amount, currency)


@register.filter
def number(value):
    return "" if value is None else l10n.format_number(value)
