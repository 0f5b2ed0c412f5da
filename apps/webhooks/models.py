import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.core.fields import EncryptedTextField


class OwnerKind(models.TextChoices):
    DONOR = "donor", "A donor (user)"
    ORGANIZATION = "organization", "An organization (its admins and API keys)"
    VERIFIER = "verifier", "A verifier (every event, the verifiers' view)"


class WebhookEndpoint(models.Model):
    """Where a partner app wants events sent, signed with its own secret (Standard Webhooks).

    The owner is a donor user, an organization, or a verifier user; it decides which events
    reach the endpoint and how their payloads are rendered (``apps.events.services.audience_for``).
    Secrets are encrypted at rest; after a rotation the previous one signs too until
    ``previous_secret_expires_at``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner_kind = models.CharField(max_length=16, choices=OwnerKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_endpoints",
        help_text="The donor or verifier who owns the endpoint.",
    )
    organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_endpoints",
    )
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=500, blank=True, default="")
    event_types = models.JSONField(default=list, blank=True, help_text="Empty: every type.")
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="The first failure since the last success."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(owner_kind="organization", organization__isnull=False, user__isnull=True)
                    | Q(owner_kind__in=["donor", "verifier"], user__isnull=False, organization=None)
                ),
                name="webhook_endpoint_one_owner",
            )
        ]

    def __str__(self) -> str:
        return f"webhook endpoint {self.id} → {self.url}"

    def signing_secrets(self, now=None) -> list[str]:
        """The secrets that sign a delivery now: the current one, and the previous one for a
        while after a rotation."""
        now = now or timezone.now()
        secrets = [self.secret]
        if (
            self.previous_secret
            and self.previous_secret_expires_at
            and now < (self.previous_secret_expires_at)
        ):
            secrets.append(self.previous_secret)
        return secrets

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # waiting for its next attempt (or for an earlier event of its resource)
    SENDING = "sending"  # claimed by a dispatcher until lease_expires_at
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt failed


class Delivery(models.Model):
    """One event for one endpoint: written by the fan-out in the relay's transaction, then
    attempted until a 2xx or the retry schedule runs out. Every attempt carries the event's id."""

    id = models.BigAutoField(primary_key=True)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="+")
    audience = models.CharField(max_length=16)
    # Ordered deliveries of one (endpoint, resource) go one at a time, in position order;
    # resends and test events are not ordered.
    resource_key = models.CharField(max_length=100)
    position = models.BigIntegerField(null=True, blank=True)
    ordered = models.BooleanField(default=True)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claim_token = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="delivery_pending_due",
            ),
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(status="sending"),
                name="delivery_sending_lease",
            ),
            models.Index(
                fields=["endpoint", "resource_key", "position"],
                condition=Q(status__in=["pending", "sending"], ordered=True),
                name="delivery_open_per_resource",
            ),
            # /metrics counts failed deliveries (apps.monitoring): few, so a small index.
            models.Index(
                fields=["created_at"], condition=Q(status="failed"), name="delivery_failed"
            ),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} of event {self.event_id} to {self.endpoint_id} ({self.status})"


class DeliveryAttempt(models.Model):
    """One HTTP request to an endpoint: what ``GET …/deliveries`` lists."""

    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    succeeded = models.BooleanField(default=False)
    error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["endpoint", "attempted_at"], name="attempt_endpoint_at")]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
