"""Idempotency-Key for POSTs that create or move money.

A repeat with the same key and body replays the first response (status, body, Location/ETag);
the same key with another body is a 422; concurrent twins produce one effect: the record is
inserted in the same transaction as the request's effect, so a twin waits on the unique index
until the first commits and then replays it. A request that fails writes nothing, the record
included, so its repeat simply runs again.
"""

import functools
import hashlib
import json
import re

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from aidmatch.errors import IdempotencyKeyReused
from apps.core.actors import caller_key
from apps.core.metrics import IDEMPOTENT_REPLAYS
from apps.core.models import IdempotencyRecord
from apps.core.transactions import atomic_retrying, one_transaction, rolled_back_on_error

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_REPLAYED_HEADERS = ("Location", "ETag")


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    raw = f"{request.method}\n{request.path}\n{body}".encode()
    return hashlib.sha256(raw).hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    response = Response(record.response_body, status=record.response_status)
    for name, value in record.response_headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    IDEMPOTENT_REPLAYS.inc()
    return response


_CLAIM = """
INSERT INTO core_idempotencyrecord
    (owner, key, fingerprint, method, path, response_headers, created_at)
VALUES (%s, %s, %s, %s, %s, '{}', %s)
ON CONFLICT (owner, key) DO UPDATE SET owner = EXCLUDED.owner
RETURNING id, fingerprint, response_status, response_body, response_headers, created_at,
    xmax = 0
"""


def _claim(*, owner: str, key: str, fingerprint: str, request) -> tuple[IdempotencyRecord, bool]:
    """The record of (owner, key), inserted or found in one statement, and whether it is new.

    A twin's uncommitted insert makes this wait on the unique index until the twin commits
    (then its record, response included, is returned) or rolls back (then this one inserts).
    A record past its TTL is taken over as new."""
    now = timezone.now()
    if connection.vendor != "postgresql":  # SQLite (the embedded mode) runs one writer at once
        return _claim_portable(owner=owner, key=key, fingerprint=fingerprint, request=request)
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM, [owner, key, fingerprint, request.method, request.path, now])
        pk, stored, status, body, headers, created_at, inserted = cursor.fetchone()
    body_field = IdempotencyRecord._meta.get_field("response_body")
    record = IdempotencyRecord(
        pk=pk,
        owner=owner,
        key=key,
        fingerprint=stored,
        method=request.method,
        path=request.path,
        response_status=status,
        response_body=body_field.from_db_value(body, None, connection),
        response_headers=headers if isinstance(headers, dict) else json.loads(headers),
        created_at=created_at,
    )
    if not inserted and created_at < now - settings.IDEMPOTENCY_TTL:
        record.fingerprint, record.created_at = fingerprint, now
        record.response_status = record.response_body = None
        record.response_headers = {}
        record.save(
            update_fields=[
                "fingerprint",
                "method",
                "path",
                "response_status",
                "response_body",
                "response_headers",
                "created_at",
            ]
        )
        inserted = True
    return record, inserted


def _claim_portable(*, owner, key, fingerprint, request) -> tuple[IdempotencyRecord, bool]:
    record, created = IdempotencyRecord.objects.get_or_create(
        owner=owner,
        key=key,
        defaults={"fingerprint": fingerprint, "method": request.method, "path": request.path},
    )
    if not created and record.created_at < timezone.now() - settings.IDEMPOTENCY_TTL:
        record.delete()
        record = IdempotencyRecord.objects.create(
            owner=owner, key=key, fingerprint=fingerprint, method=request.method, path=request.path
        )
        created = True
    return record, created


def idempotent(handler):
    """Decorate a view method (``create`` or an ``@action``) to honour Idempotency-Key.

    The whole request is one transaction, run again when PostgreSQL rolls it back to break a
    deadlock (``apps.core.transactions``), with or without a key. Two statements on top of the
    handler's (the claim and the stored response); a replay costs the claim alone."""

    without_key = one_transaction(handler)

    @functools.wraps(handler)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        owner = caller_key(request)
        if key is None or owner is None:
            return without_key(self, request, *args, **kwargs)
        if not _KEY.match(key):
            raise exceptions.ValidationError(
                {
                    HEADER: [
                        gettext("Use 1 to 255 visible ASCII characters (a UUID is a good choice).")
                    ]
                }
            )
        fingerprint = _fingerprint(request)

        def claimed():
            record, created = _claim(owner=owner, key=key, fingerprint=fingerprint, request=request)
            if not created:
                if record.fingerprint != fingerprint:
                    raise IdempotencyKeyReused(
                        _(
                            "This Idempotency-Key was used with a different request; "
                            "use a new key for a new request."
                        )
                    )
                return _replay(record)
            response = handler(self, request, *args, **kwargs)
            if response.status_code >= 500:
                return rolled_back_on_error(response)
            record.response_status = response.status_code
            record.response_body = json.loads(JSONRenderer().render(response.data) or "null")
            record.response_headers = {h: response[h] for h in _REPLAYED_HEADERS if h in response}
            record.save(update_fields=["response_status", "response_body", "response_headers"])
            return response

        return atomic_retrying(claimed)

    return extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER])(wrapper)


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    description=(
        "Optional. A repeat with the same key and body replays the first response "
        "(Idempotent-Replayed: true); the same key with another body is a 422. Per caller, "
        "kept at least 24 hours. A UUID is a good key."
    ),
)


def purge_expired() -> int:
    cutoff = timezone.now() - settings.IDEMPOTENCY_TTL
    deleted = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()[0]
    return deleted
