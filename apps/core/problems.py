"""One exception handler: every error leaves the API as application/problem+json (RFC 9457)."""

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from aidmatch.errors import DomainError
from apps.core.i18n import domain_errors, domain_message

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://aidmatch.org/problems/"
DATABASE_RETRY_AFTER_SECONDS = 2


# The titles of framework errors, by status (lazy: translated when a problem is answered).
STATUS_TITLES = {
    status.HTTP_401_UNAUTHORIZED: _("Not authenticated"),
    status.HTTP_403_FORBIDDEN: _("Not permitted"),
    status.HTTP_404_NOT_FOUND: _("Not found"),
    status.HTTP_405_METHOD_NOT_ALLOWED: _("Method not allowed"),
    status.HTTP_406_NOT_ACCEPTABLE: _("Not acceptable"),
    status.HTTP_412_PRECONDITION_FAILED: _("Precondition failed"),
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: _("Unsupported media type"),
    status.HTTP_429_TOO_MANY_REQUESTS: _("Too many requests"),
}


def problem(
    status_code: int,
    code: str,
    title: str,
    detail: str,
    errors: dict | None = None,
    headers: dict | None = None,
    extensions: dict | None = None,
) -> Response:
    body = {
        "type": TYPE_BASE + code.replace("_", "-"),
        "title": title,
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    for name, value in (extensions or {}).items():  # RFC 9457 extension members
        body.setdefault(name, value)
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def _field_errors(data) -> tuple[dict, str]:
    """DRF's nested error structure as {field: [messages]} with dotted paths, and a summary."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                nested_non_field = k == "non_field_errors" and prefix
                walk(prefix if nested_non_field else (f"{prefix}.{k}" if prefix else str(k)), v)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            flat.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in value)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                if v:
                    walk(f"{prefix}.{i}" if prefix else str(i), v)
        else:
            flat.setdefault(prefix or "non_field_errors", []).append(str(value))

    walk("", data)
    first = next(iter(flat.items()), None)
    summary = f"{first[0]}: {first[1][0]}" if first else gettext("Invalid input.")
    return flat, summary


def problem_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        set_rollback()
        return problem(
            exc.status,
            exc.code,
            gettext(exc.title),
            domain_message(exc),
            domain_errors(exc) or None,
            extensions=getattr(exc, "extensions", None),  # e.g. a stale rate's pair and date
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, RequestDataTooBig | TooManyFieldsSent):
        set_rollback()
        return problem(
            413,
            "payload_too_large",
            gettext("Request body too large"),
            gettext("The request body is larger than this server accepts (%(limit)s bytes).")
            % {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
            if isinstance(exc, RequestDataTooBig)
            else gettext("The request has more fields than this server accepts (%(limit)s).")
            % {"limit": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS},
        )
    elif isinstance(exc, IntegrityError):
        # A concurrent twin won a unique constraint, or a database check refused the change.
        set_rollback()
        # Only the primary message: PostgreSQL's DETAIL ("Failing row contains …") holds the
        # row's values, which must not reach the logs.
        diag = getattr(exc.__cause__, "diag", None)
        logger.info(
            "integrity error turned into 409: %s",
            getattr(diag, "message_primary", None) or type(exc.__cause__ or exc).__name__,
        )
        return problem(
            409,
            "conflict",
            gettext("Conflict"),
            gettext("The change conflicts with the current data."),
        )
    elif isinstance(exc, DataError):
        set_rollback()
        return problem(
            400,
            "invalid",
            gettext("Invalid input"),
            gettext("A value is out of range or malformed."),
        )

    elif isinstance(exc, OperationalError | InterfaceError):
        # The database went away or gave the statement up (a restart, a cut connection, a lock
        # or statement timeout, a deadlock still there after apps.core.transactions' retries):
        # not a bug in the request. Whether a COMMIT cut short took effect is unknown, so the
        # answer says to retry with the same Idempotency-Key, which makes that safe.
        set_rollback()
        logger.error("the database could not complete the request", exc_info=exc)
        return problem(
            503,
            "database_unavailable",
            gettext("Database unavailable"),
            gettext(
                "The database could not complete the request. Try again shortly, with the same "
                "Idempotency-Key for a write."
            ),
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )

    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: Django's 500 handler logs it

    set_rollback()
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    if isinstance(exc, exceptions.ValidationError):
        errors, summary = _field_errors(exc.detail)
        return problem(400, "invalid", gettext("Invalid input"), summary, errors, headers)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        # DRF formats its "Expected available in …" before it looks the message up, so no
        # catalog can translate it: the message is built again here, translated.
        detail = " ".join(
            (
                gettext("Request was throttled."),
                ngettext(
                    "Expected available in {wait} second.",
                    "Expected available in {wait} seconds.",
                    exc.wait,
                ).format(wait=exc.wait),
            )
        )
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    title = STATUS_TITLES.get(
        exc.status_code, _("Bad request") if exc.status_code < 500 else _("Server error")
    )
    return problem(exc.status_code, str(code), str(title), str(detail), None, headers)


def _django_problem(status_code: int, code: str, title: str, detail: str) -> JsonResponse:
    body = {
        "type": TYPE_BASE + code.replace("_", "-"),
        "title": title,
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    return JsonResponse(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def handler400(request, exception=None):
    return _django_problem(
        400, "bad_request", gettext("Bad request"), gettext("The request could not be read.")
    )


def handler403(request, exception=None):
    return _django_problem(
        403, "permission_denied", gettext("Not permitted"), gettext("Not permitted.")
    )


def handler404(request, exception=None):
    return _django_problem(404, "not_found", gettext("Not found"), gettext("No such resource."))


def handler500(request):
    return _django_problem(
        500, "server_error", gettext("Server error"), gettext("An unexpected error occurred.")
    )
