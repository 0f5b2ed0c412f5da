"""A whole transaction, run again when PostgreSQL gave it up to break a deadlock or a
serialization conflict (SQLSTATE 40P01, 40001).

PostgreSQL resolves a deadlock by rolling one of the transactions back; the application is
expected to run that one again (PostgreSQL's manual, "Deadlocks"). A retry is only sound for a
transaction that is the whole of the work: everything it wrote was rolled back, and its
``on_commit`` callbacks (Celery messages, events) were dropped with it. So ``atomic_retrying``
retries only when it opens the outermost transaction; inside another one it just runs the
function, and the enclosing transaction's owner decides. Our row locks are ordered
(``apps.matching.locks``) and never block a foreign-key check, so this is a safety net, counted
by ``aidmatch_transaction_retries`` and logged.
"""

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import OperationalError, transaction

from apps.core.metrics import TRANSACTION_RETRIES

T = TypeVar("T")
logger = logging.getLogger(__name__)

DEADLOCK_DETECTED, SERIALIZATION_FAILURE = "40P01", "40001"
RETRYABLE = frozenset({DEADLOCK_DETECTED, SERIALIZATION_FAILURE})


def conflict_code(error: BaseException) -> str | None:
    """The SQLSTATE of a transaction the database gave up, or None for any other error."""
    code = getattr(error.__cause__, "pgcode", None) or getattr(error, "pgcode", None)
    return code if code in RETRYABLE else None


def atomic_retrying(fn: Callable[[], T], *, attempts: int | None = None) -> T:
    """``fn()`` in a transaction of its own, run again (up to ``attempts`` in all, after a short
    random pause) when the database rolled it back to break a deadlock or a serialization
    conflict. Inside an enclosing transaction, ``fn()`` runs once in a savepoint."""
    attempts = attempts or settings.TRANSACTION_ATTEMPTS
    if transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return fn()
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                return fn()
        except OperationalError as error:
            code = conflict_code(error)
            if code is None or attempt == attempts:
                raise
            TRANSACTION_RETRIES.labels(code=code).inc()
            logger.warning(
                "the database rolled this transaction back (SQLSTATE %s); attempt %d of %d",
                code,
                attempt + 1,
                attempts,
            )
            time.sleep(random.uniform(0, 0.05 * attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def rolled_back_on_error(response):
    """A 5xx answer leaves nothing behind: its transaction is rolled back."""
    if response.status_code >= 500:
        transaction.set_rollback(True)
    return response


def one_transaction(handler):
    """Decorate a view method that writes: the request is one transaction (``atomic_retrying``),
    rolled back on a 5xx answer. ``apps.core.idempotency.idempotent`` does the same."""

    @functools.wraps(handler)
    def wrapper(self, request, *args, **kwargs):
        return atomic_retrying(
            lambda: rolled_back_on_error(handler(self, request, *args, **kwargs))
        )

    return wrapper
