from datetime import UTC

from django.db import models


class AuditEvent(models.Model):
    """One state change or confidential read: who, what, on which object, from which request.

    Append-only (PostgreSQL refuses UPDATE, DELETE and TRUNCATE: migration 0002) and chained:
    ``hash = sha256(prev_hash + canonical JSON of the event)`` (``aidmatch/audit.py``), so
    ``manage.py audit_verify`` detects an altered or removed event. ``before``/``after`` hold
    non-confidential fields only; a confidential field appears by name, never by value.
    """

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField()
    actor = models.CharField(max_length=80, help_text="'user:<id>', 'key:<prefix>' or 'system'")
    actor_label = models.CharField(max_length=254, blank=True)
    via = models.CharField(
        max_length=120,
        blank=True,
        help_text="'token:<digest prefix>', 'key:<prefix>', 'session' or 'task:<name>'",
    )
    action = models.CharField(max_length=80, help_text="e.g. need.approve, confidential.read")
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=100, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object"),
            models.Index(fields=["actor"], name="audit_actor"),
            models.Index(fields=["action"], name="audit_action"),
            models.Index(fields=["request_id"], name="audit_request"),
            models.Index(fields=["occurred_at"], name="audit_occurred_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id} by {self.actor}"

    def hashed_fields(self) -> dict:
        return {
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": self.actor,
            "actor_label": self.actor_label,
            "via": self.via,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "before": self.before,
            "after": self.after,
            "detail": self.detail,
            "request_id": self.request_id,
        }
