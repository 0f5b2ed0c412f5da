from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy

from apps.core.fields import EncryptedTextField


class SanctionsList(models.Model):
    """One loaded version of a published list (UN Consolidated List, OFAC SDN, EU financial
    sanctions, UK Sanctions List). Loading a new version replaces the previous one of the same
    source in one transaction."""

    class Source(models.TextChoices):
        UN = "un", gettext_lazy("UN Security Council Consolidated List")
        OFAC = "ofac", gettext_lazy("US OFAC SDN list")
        EU = "eu", gettext_lazy("EU Consolidated Financial Sanctions List")
        UK = "uk", gettext_lazy("UK Sanctions List (FCDO)")

    source = models.CharField(max_length=10, choices=Source.choices)
    version = models.CharField(max_length=100, help_text="The list's own date or version")
    file_sha256 = models.CharField(max_length=64)
    entry_count = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source"], condition=Q(active=True), name="one_active_list_per_source"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.version}"


class SanctionsEntry(models.Model):
    """A listed individual or entity, with every name it is known by."""

    sanctions_list = models.ForeignKey(
        SanctionsList, on_delete=models.CASCADE, related_name="entries"
    )
    ref = models.CharField(max_length=50, help_text="e.g. TAi.144 or an OFAC entity number")
    kind = models.CharField(max_length=20)
    primary_name = models.CharField(max_length=500)
    data = models.JSONField(help_text="Names, aliases, birth dates, nationalities, programs")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sanctions_list", "ref"], name="sanctions_entry_unique")
        ]

    def __str__(self) -> str:
        return f"{self.ref} {self.primary_name}"


class ScreeningHit(models.Model):
    """A possible match of an organization's name, alias or principal against a list entry.
    Open until a verifier clears it as a false positive or confirms it (the organization is
    then rejected)."""

    class Resolution(models.TextChoices):
        OPEN = "", gettext_lazy("open")
        FALSE_POSITIVE = "false_positive", gettext_lazy("False Positive")
        CONFIRMED = "confirmed", gettext_lazy("Confirmed")

    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="screening_hits"
    )
    entry = models.ForeignKey(
        SanctionsEntry,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="hits",
        help_text="The matched entry of the active list (kept as entry_ref when replaced)",
    )
    subject_kind = models.CharField(max_length=20, help_text="name, alias or principal")
    subject = EncryptedTextField(help_text="The screened name (confidential for principals)")
    subject_fingerprint = models.CharField(max_length=64, help_text="To recognise a repeat")
    source = models.CharField(max_length=10)
    list_version = models.CharField(max_length=100)
    entry_ref = models.CharField(max_length=50)
    matched_name = models.CharField(max_length=500)
    score = models.DecimalField(max_digits=5, decimal_places=2)
    reasons = models.JSONField(default=list)
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True, default="")
    resolution_reason = models.CharField(max_length=1000, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "resolution"])]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "subject_fingerprint", "source", "entry_ref"],
                condition=Q(resolution=""),
                name="one_open_hit_per_subject_and_entry",
            )
        ]

    def __str__(self) -> str:
        return f"{self.entry_ref} ~ {self.organization_id} ({self.score})"
