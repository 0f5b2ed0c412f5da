import json
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from aidmatch.events import EventType
from apps.core.fields import EncryptedJSONField, _encrypt


class EventPayloadsField(EncryptedJSONField):
    """Each audience's payload, encrypted: ``{"donor": {…}, "organization": {…}, …}``.

    An audience shown the very object an earlier audience (in key order) is shown is stored as
    that audience's name (``{"donor": {…}, "organization": "donor", "verifier": "donor"}``) and
    read back as that object: most events show the organization and verifiers one view, and an
    allocation's donor the same view unless the pledge is anonymous, so the stored text (its
    encryption, its COPY, its TOAST) is about a third. A payload is always a JSON object, so a
    string is never a payload. Only the same object is shared (identity, not equality: equal
    values may be written differently, 1.5 and 1.50), so what each audience reads is the exact
    text its serializer gave."""

    description = "Encrypted event payloads"

    def get_prep_value(self, value):
        if value is None:
            return None
        return _encrypt(json.dumps(self.shared(value), sort_keys=True))

    @staticmethod
    def shared(payloads: dict) -> dict:
        """``payloads`` with each audience shown an earlier audience's object as its name."""
        stored, seen = {}, []
        for audience in sorted(payloads):
            data = payloads[audience]
            stored[audience] = next((a for a, d in seen if d is data), data)
            if stored[audience] is data:
                seen.append((audience, data))
        return stored

    def decrypt(self, value):
        return self.resolved(super().decrypt(value))

    @staticmethod
    def resolved(data):
        """The stored form read back: an audience shown by an earlier one's name gets its
        object."""
        if isinstance(data, dict):
            for audience, shown in data.items():
                if isinstance(shown, str):
                    data[audience] = data[shown]
        return data


class Event(models.Model):
    """One change a partner app may hear about: the outbox.

    Written in the transaction that makes the change (one INSERT), so an event exists exactly
    when its change committed. ``payloads`` holds the resource as each audience may see it
    (``aidmatch.events.Audience``), rendered by the API's own serializers at that moment and
    encrypted at rest, since the organization's and verifiers' views carry confidential fields.
    A matching run's proposals are the exception: the run writes their values (``pending``) and
    the relay renders their payloads when it positions them (``apps.events.relay``).

    ``position`` is given by the relay (``apps.events.relay``) once the event is visible, in
    insertion order: the feed and the webhooks follow it, so a cursor never skips an event that
    committed late, and one resource's events (written under that resource's row lock) keep
    their commit order.
    """

    id = models.BigAutoField(primary_key=True)
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=64, choices=[(t.value, t.value) for t in EventType])
    resource_type = models.CharField(max_length=32)
    resource_id = models.CharField(max_length=64)
    organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # event_org_position leads with it
        help_text="The organization the resource belongs to (a need's, a tranche's recipient).",
    )
    donor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # event_donor_position leads with it
        help_text="The donor concerned, when a user.",
    )
    donor_organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # event_donor_org_position leads with it
        help_text="The donor concerned, when an institution pledging through its API key.",
    )
    occurred_at = models.DateTimeField(default=timezone.now)
    payloads = EventPayloadsField(
        default=dict,
        null=True,
        help_text="Empty while ``pending`` holds what they are rendered from.",
    )
    pending = models.JSONField(
        null=True,
        blank=True,
        editable=False,
        help_text="What the relay renders the payloads from, when it positions the event (a "
        "matching run's proposals: their rows' values, no more than the allocations table "
        "holds in the clear); then emptied.",
    )
    batch_size = models.PositiveIntegerField(
        default=1,
        db_default=1,
        editable=False,
        help_text="How many events this row stands for: more than one for a batch of a matching "
        "run's proposals (their values in ``pending``), which the relay replaces by one event "
        "per proposal.",
    )
    audiences = models.CharField(
        max_length=64,
        default="",
        blank=True,
        help_text="The audiences with a payload, comma-separated (in the clear, for the feed's "
        "filters): only those receive the event.",
    )
    position = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [
            models.Index(
                fields=["id"], condition=Q(position__isnull=True), name="event_unpublished"
            ),
            models.Index(fields=["organization", "position"], name="event_org_position"),
            models.Index(fields=["donor", "position"], name="event_donor_position"),
            models.Index(
                fields=["donor_organization", "position"], name="event_donor_org_position"
            ),
            models.Index(fields=["resource_type", "resource_id"], name="event_resource"),
            models.Index(fields=["occurred_at"], name="event_occurred_at"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.type} {self.resource_type}:{self.resource_id}"

    @property
    def public_id(self) -> str:
        """The id partners see and deduplicate by (the same across every delivery attempt)."""
        return f"evt_{self.uid.hex}"


class EventStream(models.Model):
    """The single row the relay locks while it gives positions (so relays take turns without
    a session-level lock, which a transaction-mode pooler would break)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_position = models.BigIntegerField(default=0)
    relayed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"event stream at {self.last_position}"
