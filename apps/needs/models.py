import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from aidmatch.lifecycle import NeedStatus
from apps.core.fields import EncryptedTextField
from apps.core.money import amount_field, cached_total_field
from apps.core.partner import ExternalReferenceModelField, MetadataModelField


class Need(models.Model):
    """What an organization asks for: an amount in a currency, for a sector in a province.

    The totals are kept by the allocation services in the same transaction as the allocations
    they sum, and the database refuses any row where they exceed the amount.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="needs", db_index=False
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=5000)
    sector = models.ForeignKey(
        "reference.Sector", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    province = models.ForeignKey(
        "reference.Province", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    district = models.ForeignKey(
        "reference.District",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    location_detail = EncryptedTextField(
        blank=True, default="", help_text="Confidential: exact location and notes."
    )
    beneficiaries_women = models.PositiveIntegerField(default=0)
    beneficiaries_girls = models.PositiveIntegerField(default=0)
    beneficiaries_men = models.PositiveIntegerField(default=0)
    beneficiaries_boys = models.PositiveIntegerField(default=0)
    amount = amount_field()
    currency = models.ForeignKey(
        "reference.Currency", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    urgency = models.PositiveSmallIntegerField()
    deadline = models.DateField()
    status = models.CharField(
        max_length=20, choices=[(s.value, s.value) for s in NeedStatus], default=NeedStatus.DRAFT
    )
    proposed_amount = cached_total_field()
    committed_amount = cached_total_field()
    disbursed_amount = cached_total_field()
    remaining_amount = models.GeneratedField(
        expression=F("amount") - F("committed_amount") - F("proposed_amount"),
        output_field=models.DecimalField(max_digits=18, decimal_places=4),
        db_persist=True,
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_by_key = models.ForeignKey(
        "organizations.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    metadata = MetadataModelField()
    external_reference = ExternalReferenceModelField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # The organization's own ids for its needs.
            models.UniqueConstraint(
                fields=["organization", "external_reference"],
                condition=Q(external_reference__isnull=False),  # rows without one: no entry
                name="need_reference_per_organization",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="need_amount_positive"),
            models.CheckConstraint(
                condition=Q(urgency__gte=1, urgency__lte=5), name="need_urgency_1_5"
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in NeedStatus]), name="need_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(
                    proposed_amount__gte=0, committed_amount__gte=0, disbursed_amount__gte=0
                ),
                name="need_totals_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=F("committed_amount") + F("proposed_amount")),
                name="need_not_over_allocated",
            ),
            models.CheckConstraint(
                condition=Q(disbursed_amount__lte=F("committed_amount")),
                name="need_disbursed_within_committed",
            ),
        ]
        # Foreign keys have no index of their own where one here leads with them, and code
        # keys none for LIKE (Django's ``_like``): each index is one more entry written on
        # every change of a need, a matching run's update of its totals included.
        indexes = [
            models.Index(fields=["status", "-created_at"]),
            models.Index(fields=["organization", "status"]),
            models.Index(fields=["sector", "province", "status"]),
            models.Index(fields=["province"], name="need_province"),
            models.Index(
                fields=["district"], condition=Q(district__isnull=False), name="need_district"
            ),
            models.Index(fields=["currency"], name="need_currency"),
            models.Index(
                fields=["created_by_key"],
                condition=Q(created_by_key__isnull=False),
                name="need_created_by_key",
            ),
            # The incremental matching path reads the needs a pledge can reach in weight order
            # (most urgent, then nearest deadline, then id), only those with at least one unit
            # of their currency still to place (not the cents that conversions leave on needs
            # matched in full), a page at a time: never the whole world.
            models.Index(
                fields=["-urgency", "deadline", "id"],
                condition=Q(
                    status__in=[NeedStatus.OPEN.value, NeedStatus.PARTIALLY_FUNDED.value],
                    remaining_amount__gte=1,
                ),
                # what the path filters a page on, read from the index itself
                include=["remaining_amount", "currency", "sector", "province"],
                name="need_matchable_by_weight",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def funded_amount(self):
        return self.committed_amount

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


class NeedLineItem(models.Model):
    """One priced line of a need ("food package for a family of 8 for 5 weeks" × 40)."""

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="line_items")
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=300)
    unit = models.CharField(max_length=50, blank=True)
    unit_cost = amount_field()
    quantity = models.PositiveIntegerField()
    amount = amount_field()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["need", "position"], name="need_line_item_position"),
            models.CheckConstraint(
                condition=Q(unit_cost__gt=0, quantity__gt=0), name="need_line_item_positive"
            ),
            models.CheckConstraint(
                condition=Q(amount=F("unit_cost") * F("quantity")), name="need_line_item_amount"
            ),
        ]

    def __str__(self) -> str:
        return self.description

    @property
    def currency(self):
        return self.need.currency
