"""Reconcile: recompute every balance from the legs and compare it with the cached totals.

Checks, each difference named with the row's id and both amounts:

- every ledger transaction has two legs or more, its legs sum to zero per currency, and each leg
  is in its account's currency;
- pledges: the amount equals what the ledger says was pledged (incoming pledges net of their
  reversals); ``committed_amount`` equals the commitments out of its account and the sum of its
  committed allocation rows; ``proposed_amount`` equals its proposed rows; live allocations
  (proposed and committed) do not exceed the amount;
- needs: ``committed_amount`` equals the commitments into its account and its committed rows
  (in the need's currency); ``proposed_amount`` its proposed rows; ``disbursed_amount`` the
  disbursements out of its account; live allocations do not exceed the amount;
- allocations: a committed one (committed, disbursing, disbursed) has exactly its ``amount`` out
  of the pledge's account and its ``need_amount`` into the need's in the ledger, any other none;
  what is disbursed of it does not exceed it;
- tranches: ``refunded_amount`` equals the sum of its refund rows and what the refund postings
  took out of the organization's account, and never exceeds what was received;
- needs again: what their reports say was spent never exceeds what was received net of refunds
  (the funding page's figures).

On PostgreSQL the reads run in one REPEATABLE READ snapshot, so writes landing meanwhile cannot
show up as differences.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from aidmatch.ledger import AccountKind, IatiTransactionType
from aidmatch.lifecycle import ALLOCATION_COMMITTED, AllocationStatus
from apps.ledger.models import Account, LedgerTransaction, Leg, ReconcileRun
from apps.matching.models import Allocation
from apps.needs.models import Need
from apps.pledges.models import Pledge

logger = logging.getLogger(__name__)
ZERO = Decimal(0)
K, T = AccountKind, IatiTransactionType
COMMITTED = [s.value for s in ALLOCATION_COMMITTED]
PROPOSED = AllocationStatus.PROPOSED.value
CHUNK = 2000

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Difference:
    check: str  # e.g. "pledge.committed_amount"
    subject: str  # "pledge", "need", "allocation", "transaction"
    id: str
    expected: str  # what the ledger (or the rows, or the rule) says
    actual: str  # what the cached total (or the row) says
    currency: str = ""
    detail: str = ""

    def __str__(self) -> str:
        text = f"{self.check} {self.subject} {self.id}: expected {self.expected}"
        text += f", found {self.actual}"
        if self.currency:
            text += f" {self.currency}"
        return f"{text} ({self.detail})" if self.detail else text


@dataclass
class ReconcileReport:
    started_at: datetime
    finished_at: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def differences_as_json(self) -> list[dict]:
        return [asdict(d) for d in self.differences]

    def render(self) -> str:
        lines = [
            f"Ledger reconcile {self.started_at:%Y-%m-%d %H:%M:%S} UTC: "
            + ("OK" if self.ok else f"{len(self.differences)} difference(s)"),
            "Checked: " + ", ".join(f"{n} {name}" for name, n in self.counts.items()),
        ]
        by_check: dict[str, list[Difference]] = defaultdict(list)
        for difference in self.differences:
            by_check[difference.check].append(difference)
        for check, found in sorted(by_check.items()):
            lines.append(f"\n{check} ({len(found)}):")
            lines.extend(f"  {d}" for d in found)
        return "\n".join(lines)


def _s(amount) -> str:
    return str((amount or ZERO).normalize() + 0)  # "+ 0" turns -0 into 0


class _Checker:
    def __init__(self, report: ReconcileReport, progress: Progress | None) -> None:
        self.report, self.progress = report, progress

    def differ(self, check, subject, pk, expected, actual, currency="", detail="") -> None:
        self.report.differences.append(
            Difference(check, subject, str(pk), _s(expected), _s(actual), currency, detail)
        )

    def equal(self, check, subject, pk, expected, actual, currency="") -> None:
        if (expected or ZERO) != (actual or ZERO):
            self.differ(check, subject, pk, expected, actual, currency)

    def tick(self, stage: str, done: int, total: int) -> None:
        if self.progress and total >= CHUNK and (done % CHUNK == 0 or done == total):
            self.progress(stage, done, total)


def _ledger_sums(kind: AccountKind, owner: str) -> dict:
    """{owner id: {IATI type: sum of legs}} for the accounts of ``kind``."""
    sums: dict = defaultdict(dict)
    rows = (
        Leg.objects.filter(account__kind=kind)
        .values_list(f"account__{owner}_id", "transaction__iati_type")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    for pk, iati, total in rows:
        sums[pk][iati] = total
    return sums


def _row_sums(owner: str, amount_field: str) -> dict:
    """{(owner id, "proposed" | "committed"): sum of allocation rows}."""
    sums: dict = defaultdict(lambda: ZERO)
    rows = (
        Allocation.objects.values_list(f"{owner}_id", "status")
        .annotate(total=Sum(amount_field))
        .order_by()
    )
    for pk, status, total in rows:
        if status == PROPOSED:
            sums[(pk, "proposed")] += total
        elif status in COMMITTED:
            sums[(pk, "committed")] += total
    return sums


def _check_transactions(c: _Checker) -> None:
    unbalanced = (
        Leg.objects.values_list("transaction_id", "currency_id")
        .annotate(total=Sum("amount"))
        .exclude(total=0)
        .order_by("transaction_id")
    )
    for txn, currency, total in unbalanced:
        c.differ("transaction.balance", "transaction", txn, 0, total, currency)
    for txn, legs in (
        LedgerTransaction.objects.annotate(n=Count("legs")).filter(n__lt=2).values_list("pk", "n")
    ):
        c.differ("transaction.legs", "transaction", txn, 2, legs, detail="at least two legs")
    for leg, currency, account in (
        Leg.objects.exclude(currency_id=F("account__currency_id"))
        .values_list("pk", "currency_id", "account__key")
        .order_by("pk")
    ):
        c.differ("leg.currency", "leg", leg, account, currency, detail="leg not in account's")


def _check_pledges(c: _Checker) -> int:
    ledger = _ledger_sums(K.DONOR_PLEDGE, "pledge")
    rows = _row_sums("pledge", "amount")
    pledges = Pledge.objects.values_list(
        "pk", "currency_id", "amount", "proposed_amount", "committed_amount"
    ).order_by("pk")
    total = pledges.count()
    for done, (pk, cur, amount, proposed, committed) in enumerate(
        pledges.iterator(chunk_size=CHUNK), start=1
    ):
        sums = ledger.get(pk, {})
        pledged = sums.get(T.INCOMING_PLEDGE, ZERO)
        out = -sums.get(T.OUTGOING_COMMITMENT, ZERO)
        c.equal("pledge.amount", "pledge", pk, pledged, amount, cur)
        c.equal("pledge.committed_amount", "pledge", pk, out, committed, cur)
        c.equal(
            "pledge.committed_amount (rows)", "pledge", pk, rows[(pk, "committed")], committed, cur
        )
        c.equal(
            "pledge.proposed_amount (rows)", "pledge", pk, rows[(pk, "proposed")], proposed, cur
        )
        live = rows[(pk, "committed")] + rows[(pk, "proposed")]
        if live > amount:
            c.differ("pledge.over_allocated", "pledge", pk, amount, live, cur)
        for iati in sorted(sums.keys() - {T.INCOMING_PLEDGE, T.OUTGOING_COMMITMENT}):
            c.differ("pledge.account", "pledge", pk, 0, sums[iati], cur, f"IATI type {iati}")
        c.tick("pledges", done, total)
    return total


def _check_needs(c: _Checker) -> int:
    ledger = _ledger_sums(K.NEED, "need")
    rows = _row_sums("need", "need_amount")
    needs = Need.objects.values_list(
        "pk", "currency_id", "amount", "proposed_amount", "committed_amount", "disbursed_amount"
    ).order_by("pk")
    total = needs.count()
    for done, (pk, cur, amount, proposed, committed, disbursed) in enumerate(
        needs.iterator(chunk_size=CHUNK), start=1
    ):
        sums = ledger.get(pk, {})
        into = sums.get(T.OUTGOING_COMMITMENT, ZERO)
        out = -sums.get(T.DISBURSEMENT, ZERO)
        c.equal("need.committed_amount", "need", pk, into, committed, cur)
        c.equal("need.committed_amount (rows)", "need", pk, rows[(pk, "committed")], committed, cur)
        c.equal("need.proposed_amount (rows)", "need", pk, rows[(pk, "proposed")], proposed, cur)
        c.equal("need.disbursed_amount", "need", pk, out, disbursed, cur)
        live = rows[(pk, "committed")] + rows[(pk, "proposed")]
        if live > amount:
            c.differ("need.over_allocated", "need", pk, amount, live, cur)
        c.tick("needs", done, total)
    return total


def _check_allocations(c: _Checker) -> int:
    ledger: dict = defaultdict(lambda: ZERO)
    for pk, kind, total in (
        Leg.objects.filter(
            transaction__iati_type=T.OUTGOING_COMMITMENT,
            transaction__allocation__isnull=False,
            account__kind__in=[K.DONOR_PLEDGE, K.NEED],
        )
        .values_list("transaction__allocation_id", "account__kind")
        .annotate(total=Sum("amount"))
        .order_by()
    ):
        ledger[(pk, kind)] = total
    allocations = Allocation.objects.values_list(
        "pk",
        "status",
        "amount",
        "need_amount",
        "disbursed_amount",
        "pledge__currency_id",
        "need__currency_id",
    ).order_by("pk")
    total = allocations.count()
    for done, (pk, status, amount, need_amount, disbursed, cur, need_cur) in enumerate(
        allocations.iterator(chunk_size=CHUNK), start=1
    ):
        committed = status in COMMITTED
        out_of_pledge = -ledger[(pk, K.DONOR_PLEDGE)]
        into_need = ledger[(pk, K.NEED)]
        expected_amount, expected_need_amount = (amount, need_amount) if committed else (0, 0)
        c.equal("allocation.amount", "allocation", pk, out_of_pledge, expected_amount, cur)
        c.equal(
            "allocation.need_amount", "allocation", pk, into_need, expected_need_amount, need_cur
        )
        if disbursed > amount:
            c.differ("allocation.over_disbursed", "allocation", pk, amount, disbursed, cur)
        c.tick("allocations", done, total)
    return total


def _check_tranches(c: _Checker) -> int:
    from apps.disbursements.models import Disbursement, Refund
    from apps.ledger.services import refund_key

    rows: dict = defaultdict(lambda: ZERO)
    posted: dict = defaultdict(lambda: ZERO)
    keys = {}
    for pk, tranche, amount in Refund.objects.values_list("pk", "disbursement_id", "amount"):
        rows[tranche] += amount
        keys[refund_key(pk)] = tranche
    for key, amount in (
        Leg.objects.filter(
            transaction__key__startswith=refund_key(""), account__kind=K.ORGANIZATION
        )
        .values_list("transaction__key", "amount")
        .order_by()
    ):
        posted[keys.get(key, key)] -= amount
    tranches = Disbursement.objects.filter(Q(refunded_amount__gt=0) | Q(pk__in=list(rows)))
    for pk, cur, received, refunded in tranches.values_list(
        "pk", "received_currency_id", "received_amount", "refunded_amount"
    ).order_by("pk"):
        c.equal("tranche.refunded_amount (rows)", "tranche", pk, rows[pk], refunded, cur)
        c.equal("tranche.refunded_amount", "tranche", pk, posted.pop(pk, ZERO), refunded, cur)
        if received is None or refunded > received:
            c.differ("tranche.over_refunded", "tranche", pk, received, refunded, cur)
    for key, amount in posted.items():
        c.differ("tranche.refund_posting", "transaction", key, 0, amount, detail="no refund row")
    return len(keys)


def _check_spending(c: _Checker) -> None:
    from apps.disbursements.selectors import received_lines
    from apps.reports.models import DeliveryReport

    received: dict = defaultdict(lambda: ZERO)
    for line in received_lines():
        received[line.need_id] += line.net
    for need_id, cur, spent in (
        DeliveryReport.objects.values_list("need_id", "need__currency_id")
        .annotate(s=Sum("amount_spent"))
        .filter(s__gt=0)
        .order_by("need_id")
    ):
        if spent > received[need_id]:
            c.differ("need.spent_over_received", "need", need_id, received[need_id], spent, cur)


def reconcile(*, progress: Progress | None = None) -> ReconcileReport:
    """Check the ledger against itself, the cached totals and the allocation rows."""
    report = ReconcileReport(started_at=timezone.now())
    checker = _Checker(report, progress)
    # Our own transaction gets one snapshot; inside a caller's (a test, a service) we share its.
    own_transaction = not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and own_transaction:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        _check_transactions(checker)
        report.counts = {
            "transactions": LedgerTransaction.objects.count(),
            "legs": Leg.objects.count(),
            "accounts": Account.objects.count(),
        }
        report.counts["pledges"] = _check_pledges(checker)
        report.counts["needs"] = _check_needs(checker)
        report.counts["allocations"] = _check_allocations(checker)
        report.counts["refunds"] = _check_tranches(checker)
        _check_spending(checker)
    report.finished_at = timezone.now()
    return report


def reconcile_and_record(*, progress: Progress | None = None) -> ReconcileRun:
    """Reconcile, store the outcome as a ReconcileRun, and log an error on any difference."""
    return record_run(reconcile(progress=progress))


def record_run(report: ReconcileReport) -> ReconcileRun:
    run = ReconcileRun.objects.create(
        started_at=report.started_at,
        finished_at=report.finished_at,
        ok=report.ok,
        counts=report.counts,
        differences=report.differences_as_json(),
    )
    if report.ok:
        logger.info("Ledger reconcile %s: OK (%s)", run.pk, report.counts)
    else:
        logger.error(
            "Ledger reconcile %s FAILED with %d difference(s):\n%s",
            run.pk,
            len(report.differences),
            "\n".join(str(d) for d in report.differences[:50]),
        )
    return run
