"""Reads of confidential fields: noted by the serializers that reveal them, written as one
``confidential.read`` event per object per response, in one bulk step when the response
leaves (``AuditMiddleware``). If the events cannot be written, the response is not sent."""

from collections.abc import Iterable
from contextvars import ContextVar

from apps.audit.context import current_actor
from apps.audit.services import audit_record_many, object_id_of, object_type_of

ACTION = "confidential.read"

_reads: ContextVar[dict | None] = ContextVar("audit_confidential_reads", default=None)


def note_confidential_read(obj, fields: Iterable[str]) -> None:
    """Note that ``fields`` of ``obj`` are in the response being built."""
    fields = set(fields)
    if not fields:
        return
    key = (object_type_of(obj), object_id_of(obj))
    reads = _reads.get()
    if reads is None:  # outside a request (a shell, a task): write the event at once
        flush({key: fields})
        return
    reads.setdefault(key, set()).update(fields)


def start_collecting():
    return _reads.set({})


def stop_collecting(token) -> dict:
    reads = _reads.get() or {}
    _reads.reset(token)
    return reads


def flush(reads: dict) -> None:
    actor = current_actor()  # one caller for all the reads of a response
    audit_record_many(
        {
            "actor": actor,
            "action": ACTION,
            "object_type": object_type,
            "object_id": object_id,
            "detail": {"fields": sorted(fields)},
        }
        for (object_type, object_id), fields in sorted(reads.items())
    )


def _revealed(value) -> bool:
    return value not in (None, "", [], {})


class ConfidentialReadMixin:
    """For serializers that reveal confidential fields: name them in ``confidential_fields``.
    Each object serialized with any of them non-empty notes a read."""

    confidential_fields: tuple[str, ...] = ()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if self.context.get("outbox"):
            # An event payload being written: its deliveries are the reads, each logged by
            # its channel (the feed's responses, the webhook attempts).
            return data
        note_confidential_read(
            instance, [f for f in self.confidential_fields if _revealed(data.get(f))]
        )
        return data
