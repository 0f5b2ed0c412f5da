"""Dates, numbers and amounts as people in Afghanistan read them, for pages and emails.

The API never uses these: it keeps ISO dates and plain decimal strings. For Dari (``fa``) and
Pashto (``ps``) a date is shown in the Solar Hijri calendar with the month names used in
Afghanistan (Hamal, Sawr, … in Dari; Wray, Ghwayay, … in Pashto; not Iran's Farvardin, …),
beside the Gregorian date; numbers and amounts follow CLDR's Afghan locales (Babel) and are
written with Eastern Arabic digits. jdatetime only converts the calendar: its month names are
Iran's.
"""

import datetime
from decimal import Decimal

import jdatetime
from babel.dates import format_date as babel_format_date
from babel.numbers import format_currency, format_decimal
from django.utils import translation

# The locale each of settings.LANGUAGES formats with (CLDR's Afghan variants).
BABEL_LOCALES = {"en": "en", "fa": "fa_AF", "ps": "ps_AF"}

# Solar Hijri months as named in Afghanistan (the zodiac names), from Hamal (21 March) on.
SOLAR_HIJRI_MONTHS = {
    "fa": (
        "حمل",
        "ثور",
        "جوزا",
        "سرطان",
        "اسد",
        "سنبله",
        "میزان",
        "عقرب",
        "قوس",
        "جدی",
        "دلو",
        "حوت",
    ),
    "ps": (
        "وری",
        "غویی",
        "غبرګولی",
        "چنګاښ",
        "زمری",
        "وږی",
        "تله",
        "لړم",
        "لیندۍ",
        "مرغومی",
        "سلواغه",
        "کب",
    ),
}
SOLAR_HIJRI_SUFFIX = {"fa": "هـ ش", "ps": "لمریز"}

_EASTERN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def language_of(language: str | None = None) -> str:
    """One of settings.LANGUAGES' codes: the one given, else the active one, else English."""
    code = (language or translation.get_language() or "en").split("-")[0].lower()
    return code if code in BABEL_LOCALES else "en"


def digits(text: str, language: str | None = None) -> str:
    """Western digits as Eastern Arabic ones (۰–۹) for Dari and Pashto; unchanged in English."""
    return text.translate(_EASTERN_DIGITS) if language_of(language) != "en" else text


def solar_hijri(day: datetime.date, language: str | None = None) -> str:
    """``9 قوس 1405 هـ ش`` (Dari) or ``9 لیندۍ 1405 لمریز`` (Pashto), with Eastern digits."""
    lang = language_of(language)
    if lang == "en":
        lang = "fa"
    if isinstance(day, datetime.datetime):
        day = day.date()
    shamsi = jdatetime.date.fromgregorian(date=day)
    month = SOLAR_HIJRI_MONTHS[lang][shamsi.month - 1]
    text = f"{shamsi.day} {month} {shamsi.year} {SOLAR_HIJRI_SUFFIX[lang]}"
    return digits(text, lang)


def format_day(day: datetime.date | datetime.datetime | None, language: str | None = None) -> str:
    """A date for people: ``30 November 2026`` in English; in Dari and Pashto the Solar Hijri
    date first, the Gregorian one (Afghan month spellings) in brackets."""
    if day is None:
        return ""
    if isinstance(day, datetime.datetime):
        day = day.date()
    lang = language_of(language)
    gregorian = babel_format_date(day, "d MMMM y", locale=BABEL_LOCALES[lang])
    if lang == "en":
        return gregorian
    return f"{solar_hijri(day, lang)} ({digits(gregorian, lang)})"


def format_number(value, language: str | None = None) -> str:
    lang = language_of(language)
    text = format_decimal(
        value, locale=BABEL_LOCALES[lang], decimal_quantization=False, numbering_system="default"
    )
    return digits(text, lang) if lang != "en" else text


def format_money(amount: Decimal, currency: str, language: str | None = None) -> str:
    """An amount with its currency, every digit kept (CLDR rounds AFN to whole afghanis; a
    ledger amount must never be shown rounded)."""
    lang = language_of(language)
    text = format_currency(
        Decimal(amount),
        currency,
        locale=BABEL_LOCALES[lang],
        currency_digits=False,
        decimal_quantization=False,
        numbering_system="default",  # Afghan separators (٬ ٫) for fa and ps
    )
    return digits(text, lang)
