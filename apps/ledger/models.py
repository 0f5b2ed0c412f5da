"""The double-entry ledger: accounts, transactions and their legs (django-hordak's shape).

Append-only. A transaction and its legs are written once, in the transaction of the change they
record; a correction is a new transaction that reverses it. Django refuses to update or delete
them, and on PostgreSQL so does the database (triggers, migration 0002), which also checks at
commit that every transaction's legs sum to zero per currency, whoever wrote them.
"""

from django.db import models
from django.db.models import Q

from aidmatch.ledger import AccountKind, IatiTransactionType, LedgerError
from apps.core.money import amount_field


class AppendOnly(LedgerError):
    pass


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly(f"{self.model.__name__} rows are never updated: post a reversal.")

    def delete(self):
        raise AppendOnly(f"{self.model.__name__} rows are never deleted: post a reversal.")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly(f"{type(self).__name__} rows are never updated: post a reversal.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly(f"{type(self).__name__} rows are never deleted: post a reversal.")


class Account(models.Model):
    """One balance in one currency: a pledge's, a need's, an organization's, or a shared one
    (in transit, fees, FX, the external world). ``key`` names it (``aidmatch.ledger.account_key``)
    and makes its creation race-safe."""

    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20, choices=[(k.value, k.value) for k in AccountKind])
    currency = models.ForeignKey("reference.Currency", on_delete=models.PROTECT, related_name="+")
    pledge = models.ForeignKey(
        "pledges.Pledge", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    need = models.ForeignKey(
        "needs.Need", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in AccountKind]), name="ledger_account_kind"
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        kind=AccountKind.DONOR_PLEDGE.value,
                        pledge__isnull=False,
                        need__isnull=True,
                        organization__isnull=True,
                    )
                    | Q(
                        kind=AccountKind.NEED.value,
                        pledge__isnull=True,
                        need__isnull=False,
                        organization__isnull=True,
                    )
                    | Q(
                        kind=AccountKind.ORGANIZATION.value,
                        pledge__isnull=True,
                        need__isnull=True,
                        organization__isnull=False,
                    )
                    | Q(
                        kind__in=[
                            AccountKind.IN_TRANSIT.value,
                            AccountKind.FEES.value,
                            AccountKind.FX.value,
                            AccountKind.EXTERNAL.value,
                        ],
                        pledge__isnull=True,
                        need__isnull=True,
                        organization__isnull=True,
                    )
                ),
                name="ledger_account_owner_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.key


class LedgerTransaction(AppendOnlyModel):
    """One movement of money, with its IATI transaction type. ``key`` is unique: the same event
    posted twice (a retried task, a repeated request) is one transaction."""

    key = models.CharField(max_length=200, unique=True)
    iati_type = models.PositiveSmallIntegerField(
        choices=[(t.value, t.label) for t in IatiTransactionType]
    )
    reverses = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversals"
    )
    description = models.CharField(max_length=300)
    pledge = models.ForeignKey(
        "pledges.Pledge", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    need = models.ForeignKey(
        "needs.Need", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    allocation = models.ForeignKey(
        "matching.Allocation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "ledger_transaction"
        constraints = [
            models.CheckConstraint(
                condition=Q(iati_type__in=[t.value for t in IatiTransactionType]),
                name="ledger_transaction_iati_type",
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def is_reversal(self) -> bool:
        return self.reverses_id is not None


class Leg(AppendOnlyModel):
    """A signed amount on one account: negative leaves it, positive arrives."""

    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="legs"
    )
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="legs")
    amount = amount_field()
    currency = models.ForeignKey("reference.Currency", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="ledger_leg_amount_non_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount:+} {self.currency_id}"


class ReconcileRun(models.Model):
    """The outcome of one reconcile (the periodic task, or ``manage.py reconcile --record``)."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    ok = models.BooleanField()
    counts = models.JSONField(default=dict)
    differences = models.JSONField(default=list)

    class Meta:
        indexes = [models.Index(fields=["-finished_at"])]

    def __str__(self) -> str:
        return f"reconcile {self.finished_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'FAILED'}"
