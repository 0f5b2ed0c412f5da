"""Domain errors. The API turns each into an RFC 9457 problem with the status named here.

Titles, details and field messages are English message ids marked with ``gettext_noop``; the
API answers them in the request's language (aidmatch.i18n). A detail that names values takes
them as ``params`` (``%(name)s`` placeholders), never formatted into the message id; the
field messages in ``errors`` are message ids too and may use the same ``params``.
"""

from aidmatch.i18n import gettext_noop as _


def fill(message: str, params: dict[str, object]) -> str:
    """The message with its ``%(name)s`` placeholders filled in; as it is when it names none."""
    if not params or "%(" not in message:
        return message
    try:
        return message % params
    except (KeyError, TypeError, ValueError):  # a translation that lost a placeholder
        return message


class DomainError(Exception):
    """A rule of the domain refused the change; nothing was written."""

    status = 422
    code = "rule_violation"
    title = _("The request breaks a rule")

    def __init__(
        self,
        detail: str,
        *,
        errors: dict[str, list[str]] | None = None,
        params: dict[str, object] | None = None,
    ) -> None:
        self.message = detail  # the message id, translated when the API answers
        self.params = params or {}
        self.detail = fill(detail, self.params)  # in English
        super().__init__(self.detail)
        self.error_messages = errors or {}  # message ids, translated when the API answers
        self.errors = {  # in English
            field: [fill(m, self.params) for m in messages]
            for field, messages in self.error_messages.items()
        }


class RuleViolation(DomainError):
    """Well-formed input that breaks a business rule (HTTP 422)."""


class StateConflict(DomainError):
    """The object's current state does not allow the change (HTTP 409)."""

    status = 409
    code = "state_conflict"
    title = _("The object's state does not allow this")


class InvalidTransition(StateConflict):
    code = "invalid_transition"
    title = _("Transition not allowed from the current state")

    def __init__(self, entity: str, current: str, target: str) -> None:
        super().__init__(
            _("A %(entity)s in state '%(current)s' cannot become '%(target)s'."),
            params={"entity": entity, "current": current, "target": target},
        )
        self.entity, self.current, self.target = entity, current, target


class ReferenceTaken(StateConflict):
    """The creator already gave this external_reference to another object (HTTP 409); the
    problem names that object (``existing_id``) so a partner app can map it instead."""

    code = "external_reference_taken"
    title = _("This external_reference is already used")

    def __init__(
        self, detail: str, *, existing_id: str | None, params: dict[str, object] | None = None
    ) -> None:
        super().__init__(
            detail,
            errors={"external_reference": [_("Already used for another of yours.")]},
            params=params,
        )
        self.existing_id = existing_id
        self.extensions = {"existing_id": existing_id}


class NotPermitted(DomainError):
    """The actor may see the object but not do this to it (HTTP 403)."""

    status = 403
    code = "permission_denied"
    title = _("Not permitted")


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    title = _("Idempotency-Key reused with a different request")


class IdempotencyKeyInProgress(StateConflict):
    code = "idempotency_key_in_progress"
    title = _("A request with this Idempotency-Key is still in progress")
