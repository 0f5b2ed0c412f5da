import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy

from aidmatch.lifecycle import AllocationStatus
from apps.core.money import amount_field, cached_total_field


class Allocation(models.Model):
    """Money of one pledge placed on one need: proposed by matching, committed by the donor.

    ``amount`` is in the pledge's currency, ``need_amount`` in the need's, converted at
    ``rate`` (rounded down, so a need never receives more than was pledged).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by (pledge, status) and (need, status) below: no single-column index besides
    # (each one more index that a matching run's bulk insert would maintain).
    pledge = models.ForeignKey(
        "pledges.Pledge", on_delete=models.PROTECT, related_name="allocations", db_index=False
    )
    need = models.ForeignKey(
        "needs.Need", on_delete=models.PROTECT, related_name="allocations", db_index=False
    )
    status = models.CharField(
        max_length=20,
        choices=[(s.value, s.value) for s in AllocationStatus],
        default=AllocationStatus.PROPOSED,
    )
    amount = amount_field()
    need_amount = amount_field()
    rate = models.DecimalField(max_digits=24, decimal_places=10, default=1)
    rate_source = models.CharField(max_length=100, blank=True)
    rate_date = models.DateField(null=True, blank=True)
    disbursed_amount = cached_total_field()
    explanation = models.JSONField(default=dict)
    commit_deadline = models.DateTimeField(null=True, blank=True)
    committed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,  # allocation_committed_by: a proposal has none, and no index entry
    )
    close_reason = models.CharField(max_length=200, blank=True)
    match_run = models.ForeignKey(
        "matching.MatchRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="allocations",
        help_text="The run that proposed (or last resized) this allocation.",
    )
    proposed_at = models.DateTimeField(auto_now_add=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0, need_amount__gt=0, rate__gt=0),
                name="allocation_amounts_positive",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in AllocationStatus]),
                name="allocation_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(disbursed_amount__gte=0, disbursed_amount__lte=F("amount")),
                name="allocation_disbursed_within_amount",
            ),
            models.UniqueConstraint(
                fields=["pledge", "need"],
                condition=Q(status=AllocationStatus.PROPOSED),
                name="allocation_one_proposal_per_pair",
            ),
        ]
        indexes = [
            models.Index(fields=["pledge", "status"]),
            models.Index(fields=["need", "status"]),
            models.Index(fields=["status", "commit_deadline"]),
            models.Index(
                fields=["committed_by"],
                condition=Q(committed_by__isnull=False),
                name="allocation_committed_by",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.pledge_id} -> {self.need_id} ({self.status})"

    @property
    def created_at(self):
        return self.proposed_at


class MatchRun(models.Model):
    """One run of the matching engine: what started it, what it saw, what it changed.

    A Celery task redelivered after a worker died finds its run by ``task_id`` and takes it over
    (``attempts`` counts the deliveries); a run writes only the difference between the solution
    and the current proposals, so a repeat changes nothing twice. A running run holds a lease
    (``lease_expires_at``) that its worker renews: a run whose lease ran out is retried by the
    sweep, and so is a queued run whose message was lost.
    """

    class Trigger(models.TextChoices):
        EVENT = "event", gettext_lazy("Event")
        PERIODIC = "periodic", gettext_lazy("Periodic")
        MANUAL = "manual", gettext_lazy("Manual")

    class Mode(models.TextChoices):
        FULL = "full", gettext_lazy("full solve (exact min-cost flow)")
        INCREMENTAL = "incremental", gettext_lazy("greedy insert of new pledges or needs")

    class Status(models.TextChoices):
        QUEUED = "queued", gettext_lazy("Queued")
        RUNNING = "running", gettext_lazy("Running")
        SUCCEEDED = "succeeded", gettext_lazy("Succeeded")
        FAILED = "failed", gettext_lazy("Failed")
        SKIPPED = "skipped", gettext_lazy("Skipped")
        ABANDONED = "abandoned", gettext_lazy("Abandoned")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.FULL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(max_length=200, blank=True)
    task_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    pool_currency = models.CharField(max_length=3, blank=True)
    pledges_seen = models.PositiveIntegerField(default=0)
    needs_seen = models.PositiveIntegerField(default=0)
    proposals_before = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    resized = models.PositiveIntegerField(default=0)
    released = models.PositiveIntegerField(default=0)
    kept = models.PositiveIntegerField(default=0)
    skipped_stale = models.PositiveIntegerField(default=0)
    auto_committed = models.PositiveIntegerField(default=0)
    objective = models.BigIntegerField(null=True, blank=True)
    funded_minor = models.BigIntegerField(
        null=True, blank=True, help_text="Minor units of the pool currency placed by the solution"
    )
    solver = models.CharField(max_length=40, blank=True)
    solver_version = models.CharField(max_length=100, blank=True)
    stats = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a message was last sent for this run; empty while a queued run waits "
        "for the run holding the lock, which sends it when it finishes.",
    )
    lease_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Renewed by the worker executing the run; once past, its worker is taken for "
        "dead and the run is retried.",
    )

    class Meta:
        indexes = [models.Index(fields=["status", "-created_at"])]
        constraints = [
            # Triggers coalesce: at most one automatic full run waits, whatever their number.
            models.UniqueConstraint(
                fields=["mode"],
                condition=Q(status="queued", mode="full") & ~Q(trigger="manual"),
                name="match_run_one_queued_automatic_full_run",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["queued", "running", "succeeded", "failed", "skipped", "abandoned"]
                ),
                name="match_run_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mode} run {self.pk} ({self.status})"
