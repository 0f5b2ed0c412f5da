import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from aidmatch.lifecycle import PledgeStatus
from apps.core.money import amount_field, cached_total_field
from apps.core.partner import ExternalReferenceModelField, MetadataModelField

DEFAULT_COMMIT_WINDOW = timedelta(days=7)


class Pledge(models.Model):
    """Money a donor offers, with earmarks (none = unrestricted).

    ``proposed_amount`` and ``committed_amount`` are the sums of its live allocations, kept in
    the same transaction as those allocations; the database refuses a row where they exceed
    ``amount``. ``original_amount`` remembers what was first pledged when it is reduced.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    donor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="pledges"
    )
    donor_organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pledges_made",
        help_text="A donor institution pledging through its API key.",
    )
    amount = amount_field()
    original_amount = amount_field(editable=False)
    currency = models.ForeignKey("reference.Currency", on_delete=models.PROTECT, related_name="+")
    earmark_sectors = models.ManyToManyField("reference.Sector", blank=True, related_name="+")
    earmark_provinces = models.ManyToManyField("reference.Province", blank=True, related_name="+")
    earmark_organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="earmarked_pledges",
    )
    earmark_need = models.ForeignKey(
        "needs.Need",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="earmarked_pledges",
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    commit_window = models.DurationField(default=DEFAULT_COMMIT_WINDOW)
    auto_commit = models.BooleanField(default=False)
    public_message = models.CharField(max_length=500, blank=True)
    anonymous = models.BooleanField(default=False)
    status = models.CharField(
        max_length=20,
        choices=[(s.value, s.value) for s in PledgeStatus],
        default=PledgeStatus.OPEN,
    )
    proposed_amount = cached_total_field()
    committed_amount = cached_total_field()
    disbursed_amount = cached_total_field()
    available_amount = models.GeneratedField(
        expression=F("amount") - F("committed_amount") - F("proposed_amount"),
        output_field=models.DecimalField(max_digits=18, decimal_places=4),
        db_persist=True,
    )
    created_by_key = models.ForeignKey(
        "organizations.ApiKey", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    metadata = MetadataModelField()
    external_reference = ExternalReferenceModelField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # A donor's own ids: unique per donor user, and per donor institution.
            models.UniqueConstraint(
                fields=["donor", "external_reference"], name="pledge_reference_per_donor"
            ),
            models.UniqueConstraint(
                fields=["donor_organization", "external_reference"],
                name="pledge_reference_per_donor_organization",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="pledge_amount_non_negative"),
            models.CheckConstraint(
                condition=Q(original_amount__gt=0, amount__lte=F("original_amount")),
                name="pledge_amount_within_original",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in PledgeStatus]), name="pledge_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(
                    proposed_amount__gte=0, committed_amount__gte=0, disbursed_amount__gte=0
                ),
                name="pledge_totals_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=F("committed_amount") + F("proposed_amount")),
                name="pledge_not_over_allocated",
            ),
            models.CheckConstraint(
                condition=Q(disbursed_amount__lte=F("committed_amount")),
                name="pledge_disbursed_within_committed",
            ),
            models.CheckConstraint(
                condition=Q(donor__isnull=False) | Q(donor_organization__isnull=False),
                name="pledge_has_a_donor",
            ),
            models.CheckConstraint(
                condition=Q(commit_window__gte=timedelta(hours=1)),
                name="pledge_commit_window_min",
            ),
        ]
        indexes = [
            models.Index(fields=["donor", "-created_at"]),
            models.Index(fields=["status", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency_id} ({self.status})"

    @property
    def allocated_amount(self):
        return self.proposed_amount + self.committed_amount
