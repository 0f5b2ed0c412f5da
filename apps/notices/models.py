from django.db import models


class NoticeKind(models.TextChoices):
    PROPOSAL_AWAITS_COMMITMENT = "proposal_awaits_commitment"  # to the donor, per allocation
    TRANCHE_SENT = "tranche_sent"  # to the receiving organization, per tranche
    SCHEDULE_STOPPED = "schedule_stopped"  # to the donor, per recurring pledge (it stops once)


class Notice(models.Model):
    """An email that went out (or was handed to the mail server) about one object, once.

    The unique (kind, object id) is what makes "once" true: the relay writes the row in the
    transaction that publishes the event, and only a row it inserted leads to a message, so a
    second relay or a repeated event sends nothing again."""

    kind = models.CharField(max_length=40, choices=NoticeKind.choices)
    object_id = models.CharField(max_length=64)
    event_uid = models.UUIDField(help_text="The event that led to the notice.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="notice_once_per_object")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"
