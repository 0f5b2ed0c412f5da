import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from aidmatch.disbursing import Channel, DisbursementStatus
from apps.core.money import amount_field, cached_total_field
from apps.core.partner import ExternalReferenceModelField, MetadataModelField


class Disbursement(models.Model):
    """A tranche: money of one donor's committed allocations sent to one organization.

    ``amount`` leaves the donor in ``currency``; ``fee_amount`` (same currency) is what the
    channel keeps; the organization confirms ``received_amount`` in ``received_currency``, and
    any difference from the expected amount is recorded with its reason.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    donor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    donor_organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, null=True, related_name="+"
    )
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.PROTECT, related_name="disbursements"
    )
    status = models.CharField(
        max_length=10,
        choices=[(s.value, s.value) for s in DisbursementStatus],
        default=DisbursementStatus.SCHEDULED,
    )
    amount = amount_field()
    currency = models.ForeignKey("reference.Currency", on_delete=models.PROTECT, related_name="+")
    fee_amount = amount_field(default=0)
    channel = models.CharField(max_length=20, choices=[(c.value, c.value) for c in Channel])
    provider = models.CharField(max_length=200, blank=True, help_text="Bank, hawaladar, agent")
    reference = models.CharField(max_length=200, blank=True)
    planned_date = models.DateField(null=True, blank=True)
    value_date = models.DateField(null=True, blank=True)
    received_amount = amount_field(null=True, blank=True)
    received_currency = models.ForeignKey(
        "reference.Currency", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    received_date = models.DateField(null=True, blank=True)
    expected_received_amount = amount_field(null=True, blank=True)
    difference_reason = models.CharField(max_length=500, blank=True)
    refunded_amount = cached_total_field(
        help_text="Sum of the refunds, in the received currency (kept with the refund rows)"
    )
    failure_reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    flagged_unconfirmed_at = models.DateTimeField(null=True, blank=True)
    metadata = MetadataModelField()
    external_reference = ExternalReferenceModelField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # The donor's own ids for its tranches (the donor schedules them): per donor user,
            # and per donor institution.
            models.UniqueConstraint(
                fields=["donor", "external_reference"], name="disbursement_reference_per_donor"
            ),
            models.UniqueConstraint(
                fields=["donor_organization", "external_reference"],
                name="disbursement_reference_per_donor_organization",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="disbursement_amount_positive"),
            models.CheckConstraint(
                condition=Q(fee_amount__gte=0, fee_amount__lt=F("amount")),
                name="disbursement_fee_below_amount",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in DisbursementStatus]),
                name="disbursement_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(received_amount__isnull=True) | Q(received_amount__gte=0),
                name="disbursement_received_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount=0)
                | Q(received_amount__isnull=False, refunded_amount__lte=F("received_amount")),
                name="disbursement_refunded_within_received",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status"]),
            models.Index(fields=["status", "sent_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency_id} -> {self.organization_id} ({self.status})"


class DisbursementLine(models.Model):
    """The part of a tranche that pays one allocation (in the pledge's and the need's money)."""

    disbursement = models.ForeignKey(Disbursement, on_delete=models.CASCADE, related_name="lines")
    allocation = models.ForeignKey(
        "matching.Allocation", on_delete=models.PROTECT, related_name="disbursement_lines"
    )
    amount = amount_field()
    need_amount = amount_field()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["disbursement", "allocation"], name="disbursement_line_unique"
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=0, need_amount__gte=0), name="disbursement_line_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of {self.allocation_id}"


class Refund(models.Model):
    """Money the receiving organization gives back after receipt (in the tranche's received
    currency). The tranche stays received; what it received net of refunds is what counts."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    disbursement = models.ForeignKey(Disbursement, on_delete=models.PROTECT, related_name="refunds")
    amount = amount_field()
    currency = models.ForeignKey("reference.Currency", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500)
    refund_date = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]
        indexes = [models.Index(fields=["disbursement", "created_at"])]

    def __str__(self) -> str:
        return f"refund {self.amount} {self.currency_id} of {self.disbursement_id}"
