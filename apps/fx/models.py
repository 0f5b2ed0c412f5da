"""Dated exchange-rate snapshots: "on ``date``, ``source`` quoted 1 ``base`` = ``rate`` ``quote``".

Snapshots are immutable: a correction is a new snapshot with a later date or another source, so
an allocation or a disbursement that recorded a rate can always be traced to the row it used.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from aidmatch.fx import RATE_MAX_DIGITS, RATE_PLACES, SOURCE_MAX_LENGTH


class ExchangeRate(models.Model):
    base = models.ForeignKey("reference.Currency", on_delete=models.PROTECT, related_name="+")
    quote = models.ForeignKey("reference.Currency", on_delete=models.PROTECT, related_name="+")
    rate = models.DecimalField(
        max_digits=RATE_MAX_DIGITS,
        decimal_places=RATE_PLACES,
        help_text="How many units of the quote currency one unit of the base currency buys.",
    )
    date = models.DateField(help_text="The day the rate applies from.")
    source = models.CharField(
        max_length=SOURCE_MAX_LENGTH,
        help_text="Who quoted the rate, e.g. 'UN operational rates', 'Da Afghanistan Bank'.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The verifier who recorded it (empty when loaded from a file).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(rate__gt=0), name="fx_rate_positive"),
            models.CheckConstraint(condition=~Q(base=F("quote")), name="fx_rate_distinct_pair"),
            models.CheckConstraint(condition=~Q(source=""), name="fx_rate_source_present"),
            # Also the index for "latest on or before" (base, quote, date ≤ d, newest first).
            models.UniqueConstraint(
                fields=["base", "quote", "date", "source"], name="fx_rate_unique_snapshot"
            ),
        ]
        indexes = [
            # The inverse direction and the bulk "everything that converts to X" lookups.
            models.Index(fields=["quote", "base", "-date"], name="fx_rate_quote_base_date"),
            models.Index(fields=["-date", "-id"], name="fx_rate_date_id"),
        ]

    def __str__(self) -> str:
        return f"1 {self.base_id} = {self.rate} {self.quote_id} on {self.date} ({self.source})"
