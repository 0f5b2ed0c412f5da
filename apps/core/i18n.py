"""Domain messages (aidmatch.i18n) in the request's language, their values put in."""

from django.utils.translation import gettext

from aidmatch.errors import DomainError, InvalidTransition, fill


def translated(message: str, params: dict) -> str:
    """A message id in the active language with ``params`` filled in; the English one filled
    in when a translation lost a placeholder."""
    text = gettext(message)
    filled = fill(text, params)
    if params and filled is text and "%(" in text:
        return fill(message, params)
    return filled


def _params(exc: DomainError) -> dict:
    if isinstance(exc, InvalidTransition):  # the entity's name is a word (aidmatch.lifecycle)
        return {**exc.params, "entity": gettext(exc.entity)}
    return exc.params


def domain_message(exc: DomainError) -> str:
    """A domain error's detail in the active language (e.g. as a serializer's field message)."""
    return translated(exc.message, _params(exc))


def domain_errors(exc: DomainError) -> dict[str, list[str]]:
    """A domain error's field messages in the active language."""
    return {
        field: [translated(m, _params(exc)) for m in messages]
        for field, messages in exc.error_messages.items()
    }
