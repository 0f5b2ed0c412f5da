"""Domain errors. The API turns each into an RFC 9457 problem with the status named here."""


class DomainError(Exception):
    """A rule of the domain refused the change; nothing was written."""

    status = 422
    code = "rule_violation"
    title = "The request breaks a rule"

    def __init__(self, detail: str, *, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}


class RuleViolation(DomainError):
    """Well-formed input that breaks a business rule (HTTP 422)."""


class StateConflict(DomainError):
    """The object's current state does not allow the change (HTTP 409)."""

    status = 409
    code = "state_conflict"
    title = "The object's state does not allow this"


class InvalidTransition(StateConflict):
    code = "invalid_transition"
    title = "Transition not allowed from the current state"

    def __init__(self, entity: str, current: str, target: str) -> None:
        super().__init__(f"A {entity} in state '{current}' cannot become '{target}'.")
        self.entity, self.current, self.target = entity, current, target


class ReferenceTaken(StateConflict):
    """The creator already gave this external_reference to another object (HTTP 409); the
    problem names that object (``existing_id``) so a partner app can map it instead."""

    code = "external_reference_taken"
    title = "This external_reference is already used"

    def __init__(self, detail: str, *, existing_id: str | None) -> None:
        super().__init__(
            detail, errors={"external_reference": ["Already used for another of yours."]}
        )
        self.existing_id = existing_id
        self.extensions = {"existing_id": existing_id}


class NotPermitted(DomainError):
    """The actor may see the object but not do this to it (HTTP 403)."""

    status = 403
    code = "permission_denied"
    title = "Not permitted"


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    title = "Idempotency-Key reused with a different request"


class IdempotencyKeyInProgress(StateConflict):
    code = "idempotency_key_in_progress"
    title = "A request with this Idempotency-Key is still in progress"
