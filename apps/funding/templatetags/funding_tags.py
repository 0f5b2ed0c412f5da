"""``{% load funding_tags %}``: ``{{ line.percent|percent }}`` — 45.3% in English, ۴۵٫۳٪ in Dari
and Pashto (Afghan digits and the Arabic percent sign)."""

from django import template

from apps.core import l10n

register = template.Library()


@register.filter
def percent(value):
    language = l10n.language_of()
    sign = "%" if language == "en" else "٪"
    return f"{l10n.format_number(value, language)}{sign}"
