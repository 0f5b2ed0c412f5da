from decimal import Decimal

from django.db.models import Sum

from apps.ledger.models import LedgerTransaction, Leg, ReconcileRun


def last_reconcile_run() -> ReconcileRun | None:
    return ReconcileRun.objects.order_by("-finished_at", "-pk").first()


def transactions_for(*, pledge=None, need=None, allocation=None):
    """The ledger transactions about a pledge, a need or an allocation, oldest first, with
    their legs and accounts."""
    qs = LedgerTransaction.objects.prefetch_related("legs__account").order_by("pk")
    if pledge is not None:
        qs = qs.filter(pledge=pledge)
    if need is not None:
        qs = qs.filter(need=need)
    if allocation is not None:
        qs = qs.filter(allocation=allocation)
    return qs


def account_balance(account) -> Decimal:
    """The sum of an account's legs (positive: money held)."""
    return Leg.objects.filter(account=account).aggregate(s=Sum("amount"))["s"] or Decimal(0)


def balances(*keys: str) -> dict[str, Decimal]:
    """Balances by account key (an account with no legs, or none at all, holds 0)."""
    found = dict(
        Leg.objects.filter(account__key__in=keys)
        .values_list("account__key")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    return {key: found.get(key, Decimal(0)) for key in keys}
