"""``{% load funding_tags %}``: ``{{ line.percent|percent }}`` — 45.3% in English, ۴۵٫۳٪ in Dari
and Pashto (one decimal always, as the API's percent_funded; Afghan digits and separators, and
the Arabic percent sign)."""

from babel.numbers import format_decimal
from django import template

from apps.core import l10n

register = template.Library()


@register.filter
def percent(value):
    language = l10n.language_of()
    text = format_decimal(
        value, "#,##0.0", locale=l10n.BABEL_LOCALES[language], numbering_system="default"
    )
    return f"{text}%" if language == "en" else f"{l10n.digits(text, language)}٪"
