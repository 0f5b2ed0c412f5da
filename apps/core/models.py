from django.db import models

from apps.core.fields import EncryptedJSONField


class IdempotencyRecord(models.Model):
    """The first response to a POST sent with an Idempotency-Key, replayed for repeats.

    The row is written in the same transaction as the request's effect, so a key either has
    its effect and its response or has neither. Keys are scoped to the caller.
    """

    owner = models.CharField(max_length=80, help_text="'user:<id>' or 'key:<id>'")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    response_status = models.PositiveSmallIntegerField(null=True)
    # Encrypted: a replayed response may hold confidential fields (e.g. a registration's contacts).
    response_body = EncryptedJSONField(null=True)
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.key}"


class WorkerHeartbeat(models.Model):
    """A Celery worker of this deployment is alive: it rewrites its row every
    HEALTH_HEARTBEAT_SECONDS (apps/core/workers.py) and deletes it when it stops. /healthz reads
    these rows, in this deployment's database, so a worker of another deployment on the same
    broker never answers for it."""

    hostname = models.CharField(max_length=255, unique=True)
    queues = models.JSONField(default=list)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.hostname} {self.last_seen:%Y-%m-%dT%H:%M:%S}"


class Lease(models.Model):
    """A named lock held by one holder until ``expires_at`` (apps/core/leases.py): a row, so it
    survives no session and needs none. Behind a transaction-pooling PgBouncer a session-level
    advisory lock would stay on whichever server connection took it; a lease is taken and given
    back with single statements, kept by a heartbeat, and taken over once it has expired (its
    holder died)."""

    name = models.CharField(max_length=100, primary_key=True)
    holder = models.CharField(max_length=200)
    acquired_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder} until {self.expires_at:%Y-%m-%dT%H:%M:%S}"
