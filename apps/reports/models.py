import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from apps.core.fields import FernetBlobField
from apps.core.money import amount_field


class DeliveryReport(models.Model):
    """What a need achieved in a period: people reached, items delivered, money spent."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    need = models.ForeignKey("needs.Need", on_delete=models.PROTECT, related_name="reports")
    period_start = models.DateField()
    period_end = models.DateField()
    reached_women = models.PositiveIntegerField(default=0)
    reached_girls = models.PositiveIntegerField(default=0)
    reached_men = models.PositiveIntegerField(default=0)
    reached_boys = models.PositiveIntegerField(default=0)
    households = models.PositiveIntegerField(default=0)
    narrative = models.TextField(max_length=10000, blank=True)
    amount_spent = amount_field(default=0)
    final = models.BooleanField(default=False, help_text="The last report: the need is done.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="report_period_ordered"
            ),
            models.CheckConstraint(
                condition=Q(amount_spent__gte=0), name="report_spent_non_negative"
            ),
            models.UniqueConstraint(
                fields=["need"], condition=Q(final=True), name="report_one_final_per_need"
            ),
        ]

    def __str__(self) -> str:
        return f"report {self.period_start}..{self.period_end} for {self.need_id}"

    @property
    def currency(self):
        return self.need.currency

    @property
    def reached(self) -> int:
        return self.reached_women + self.reached_girls + self.reached_men + self.reached_boys


class DeliveredItem(models.Model):
    report = models.ForeignKey(DeliveryReport, on_delete=models.CASCADE, related_name="items")
    line_item = models.ForeignKey("needs.NeedLineItem", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "line_item"], name="delivered_item_unique")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.line_item_id}"


class EvidenceFile(models.Model):
    """A photo, receipt or list backing a report: confidential, encrypted at rest, hashed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(DeliveryReport, on_delete=models.CASCADE, related_name="evidence")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    blob = FernetBlobField(help_text="Fernet-encrypted content")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.filename
