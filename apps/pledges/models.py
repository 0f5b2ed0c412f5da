import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from aidmatch.lifecycle import PledgeStatus
from aidmatch.schedules import DEFAULT_TIME_ZONE, MAX_OCCURRENCES, Interval, ScheduleStatus
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
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="pledges",
        db_index=False,
    )
    donor_organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pledges_made",
        db_index=False,
        help_text="A donor institution pledging through its API key.",
    )
    amount = amount_field()
    original_amount = amount_field(editable=False)
    currency = models.ForeignKey(
        "reference.Currency", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    earmark_sectors = models.ManyToManyField("reference.Sector", blank=True, related_name="+")
    earmark_provinces = models.ManyToManyField("reference.Province", blank=True, related_name="+")
    earmark_organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="earmarked_pledges",
        db_index=False,  # pledge_earmark_organization
    )
    earmark_need = models.ForeignKey(
        "needs.Need",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="earmarked_pledges",
        db_index=False,  # pledge_earmark_need
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
        "organizations.ApiKey",
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    metadata = MetadataModelField()
    external_reference = ExternalReferenceModelField()
    schedule = models.ForeignKey(
        "pledges.PledgeSchedule",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pledges",
        db_index=False,
        help_text="The recurring pledge that made this one, if any.",
    )
    schedule_period = models.DateField(
        null=True, blank=True, help_text="The first day of the schedule's period it was made for."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # One pledge per schedule and period, whatever delivers the task how often.
            models.UniqueConstraint(
                fields=["schedule", "schedule_period"],
                condition=Q(schedule__isnull=False),
                name="pledge_once_per_schedule_period",
            ),
            models.CheckConstraint(
                condition=Q(schedule__isnull=True, schedule_period__isnull=True)
                | Q(schedule__isnull=False, schedule_period__isnull=False),
                name="pledge_schedule_with_period",
            ),
            # A donor's own ids: unique per donor user, and per donor institution.
            # (Partial: a row without the key has nothing to be unique about, and costs no index
            # entry; each one still serves as its first column's index.)
            models.UniqueConstraint(
                fields=["donor", "external_reference"],
                condition=Q(external_reference__isnull=False),
                name="pledge_reference_per_donor",
            ),
            models.UniqueConstraint(
                fields=["donor_organization", "external_reference"],
                condition=Q(donor_organization__isnull=False),
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
        # Foreign keys have no index of their own where an index or unique constraint here
        # leads with them, and code keys none for LIKE (Django's ``_like``): each index is one
        # more entry written on every change of a pledge, a matching run's update included.
        indexes = [
            models.Index(fields=["donor", "-created_at"]),
            models.Index(fields=["status", "-created_at"]),
            models.Index(fields=["currency"], name="pledge_currency"),
            # Keys most pledges leave empty: only the rows that have one are indexed.
            models.Index(
                fields=["created_by_key"],
                condition=Q(created_by_key__isnull=False),
                name="pledge_created_by_key",
            ),
            models.Index(
                fields=["earmark_need"],
                condition=Q(earmark_need__isnull=False),
                name="pledge_earmark_need",
            ),
            models.Index(
                fields=["earmark_organization"],
                condition=Q(earmark_organization__isnull=False),
                name="pledge_earmark_organization",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency_id} ({self.status})"

    @property
    def allocated_amount(self):
        return self.proposed_amount + self.committed_amount


class PledgeSchedule(models.Model):
    """A recurring pledge: ``amount`` every month or quarter, with a pledge's earmarks. Its
    rules (dates, periods, catch-up) are ``aidmatch.schedules``; each occurrence is a pledge
    (``Pledge.schedule``), made once per period by a periodic task."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    donor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pledge_schedules",
    )
    donor_organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pledge_schedules_made",
    )
    created_by_key = models.ForeignKey(
        "organizations.ApiKey", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    amount = amount_field(help_text="Each occurrence's amount, from amount_from on.")
    amount_from = models.DateField(
        null=True, blank=True, help_text="The first occurrence given the current amount."
    )
    earlier_amount = amount_field(
        null=True, blank=True, help_text="The amount of occurrences dated before amount_from."
    )
    currency = models.ForeignKey("reference.Currency", on_delete=models.PROTECT, related_name="+")
    earmark_sectors = models.ManyToManyField("reference.Sector", blank=True, related_name="+")
    earmark_provinces = models.ManyToManyField("reference.Province", blank=True, related_name="+")
    earmark_organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="earmarked_schedules",
    )
    earmark_need = models.ForeignKey(
        "needs.Need",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="earmarked_schedules",
    )
    interval = models.CharField(max_length=10, choices=[(i.value, i.value) for i in Interval])
    day_of_month = models.PositiveSmallIntegerField()
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    occurrences_limit = models.PositiveSmallIntegerField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, default=DEFAULT_TIME_ZONE)
    commit_window = models.DurationField(default=DEFAULT_COMMIT_WINDOW)
    auto_commit = models.BooleanField(default=False)
    public_message = models.CharField(max_length=500, blank=True)
    anonymous = models.BooleanField(default=False)
    status = models.CharField(
        max_length=20,
        choices=[(s.value, s.value) for s in ScheduleStatus],
        default=ScheduleStatus.ACTIVE,
    )
    stop_reason = models.CharField(max_length=300, blank=True)
    pauses = models.JSONField(
        default=list,
        blank=True,
        help_text="[[paused at, resumed at or null], ...] (ISO instants): periods due then are "
        "skipped.",
    )
    next_due_at = models.DateTimeField(
        null=True, blank=True, help_text="When its next occurrence falls due (the task's index)."
    )
    occurrences_made = models.PositiveIntegerField(default=0)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="schedule_amount_positive"),
            models.CheckConstraint(
                condition=Q(earlier_amount__isnull=True) | Q(earlier_amount__gt=0),
                name="schedule_earlier_amount_positive",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in ScheduleStatus]),
                name="schedule_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(interval__in=[i.value for i in Interval]),
                name="schedule_interval_valid",
            ),
            models.CheckConstraint(
                condition=Q(day_of_month__gte=1, day_of_month__lte=31),
                name="schedule_day_of_month_valid",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(occurrences_limit__isnull=True),
                name="schedule_end_or_limit",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="schedule_end_after_start",
            ),
            models.CheckConstraint(
                condition=Q(occurrences_limit__isnull=True)
                | Q(occurrences_limit__gte=1, occurrences_limit__lte=MAX_OCCURRENCES),
                name="schedule_limit_valid",
            ),
            models.CheckConstraint(
                condition=Q(donor__isnull=False) | Q(donor_organization__isnull=False),
                name="schedule_has_a_donor",
            ),
            models.CheckConstraint(
                condition=Q(commit_window__gte=timedelta(hours=1)),
                name="schedule_commit_window_min",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["stopped", "cancelled"]) | Q(stop_reason=""),
                name="schedule_reason_when_ended",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_due_at"],
                condition=Q(status="active"),
                name="schedule_due",
            ),
            models.Index(fields=["donor", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency_id} {self.interval} ({self.status})"
