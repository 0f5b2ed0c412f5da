"""Every email AidMatch sends, in its recipient's language.

An email's subject and text are Django templates, ``notices/email/<kind>_subject.txt`` and
``notices/email/<kind>_body.txt`` (this app's ``templates/``), translated with
``{% translate %}`` / ``{% blocktranslate %}`` (catalog: this app's ``locale/``). The Python that
builds an email only chooses its kind, its recipients and the values it shows (raw amounts,
currency codes, dates: the templates format them with ``afghan_l10n``, Solar Hijri dates and
Eastern digits in Dari and Pashto). It holds no text for people.

A recipient is ``(email, language)``, the language being ``User.language`` ("" when not chosen:
English). Recipients of one event are grouped by language: one message per language, each
recipient in exactly one of them, so every recipient still gets one email per event.
"""

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from aidmatch.money import amount_text
from apps.core.l10n import language_of

Recipient = tuple[str, str]  # (email address, language code or "")


def language_for(language: str | None) -> str:
    """The language an email is written in: one of settings.LANGUAGES, English by default."""
    return language_of(language or "en")


def exact(amount: Decimal, currency) -> Decimal:
    """An amount with exactly its currency's decimals (stored with four), for ``|money``."""
    return Decimal(amount_text(amount, currency.minor_unit))


def render(kind: str, context: dict, language: str | None) -> tuple[str, str]:
    """(subject, body) of one email of ``kind`` in ``language``."""
    with translation.override(language_for(language)):
        subject = render_to_string(f"notices/email/{kind}_subject.txt", context)
        body = render_to_string(f"notices/email/{kind}_body.txt", context)
    # a subject is one line, whatever the template's line breaks
    return " ".join(subject.split()), body.strip() + "\n"


def compose(kind: str, context: dict, recipients: Iterable[Recipient]) -> list[EmailMessage]:
    """The messages of one event: one per language among ``recipients`` (none without any)."""
    by_language: dict[str, set[str]] = defaultdict(set)
    for email, language in recipients:
        by_language[language_for(language)].add(email)
    messages = []
    for language in sorted(by_language):
        subject, body = render(kind, context, language)
        messages.append(EmailMessage(subject=subject, body=body, to=sorted(by_language[language])))
    return messages
