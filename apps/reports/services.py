"""Delivery reports: filed by the organization for its need; a final report on a need whose
money has arrived completes it."""

from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext_noop as _

from aidmatch.disbursing import DisbursementStatus
from aidmatch.errors import RuleViolation, StateConflict
from aidmatch.lifecycle import NeedStatus, check_transition
from aidmatch.money import amount_text, format_money
from apps.audit.services import audit_record, audit_snapshot
from apps.core.dates import local_today
from apps.core.files import check_upload, decrypt_checked
from apps.disbursements.models import DisbursementLine
from apps.disbursements.selectors import received_by_need
from apps.events import payloads as events
from apps.ledger import services as ledger
from apps.matching.locks import lock_needs
from apps.reports.models import DeliveredItem, DeliveryReport, EvidenceFile

REPORTABLE = frozenset(
    {NeedStatus.OPEN, NeedStatus.PARTIALLY_FUNDED, NeedStatus.FUNDED, NeedStatus.EXPIRED}
)
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024


def money_received(need) -> Decimal:
    """The need's money confirmed received (need currency, before fees)."""
    total = DisbursementLine.objects.filter(
        allocation__need=need, disbursement__status=DisbursementStatus.RECEIVED
    ).aggregate(s=Sum("need_amount"))["s"]
    return total or Decimal(0)


def spent_by_need(need_ids) -> dict:
    """{need id: money its reports say was spent} (need currency)."""
    return dict(
        DeliveryReport.objects.filter(need_id__in=need_ids)
        .values("need_id")
        .annotate(s=Sum("amount_spent"))
        .values_list("need_id", "s")
    )


@transaction.atomic
def report_file(*, need_id, created_by=None, items=(), **fields) -> DeliveryReport:
    need = lock_needs([need_id])[need_id]
    if need.status not in REPORTABLE:
        raise StateConflict(
            _("A %(status)s need takes no reports."), params={"status": need.status}
        )
    if fields["period_end"] < fields["period_start"]:
        raise RuleViolation(
            _("The period ends before it starts."), errors={"period_end": [_("Before start.")]}
        )
    today = local_today(need.organization)
    if fields["period_start"] > today:
        raise RuleViolation(
            _("The period has not started (today is %(today)s in %(time_zone)s)."),
            errors={"period_start": [_("In the future.")]},
            params={"today": today, "time_zone": need.organization.time_zone},
        )
    spending = fields.get("amount_spent") or Decimal(0)
    if spending > 0:
        # Under the need's lock: a refund of its money takes the same lock.
        received = received_by_need([need.pk]).get(need.pk, Decimal(0))
        spent = spent_by_need([need.pk]).get(need.pk, Decimal(0))
        if spent + spending > received:
            minor = need.currency.minor_unit
            room = amount_text(max(received - spent, Decimal(0)), minor)
            raise RuleViolation(
                _(
                    "The need has %(received)s received (net of refunds) and %(spent)s already "
                    "reported spent: at most %(room)s more can be reported."
                ),
                errors={"amount_spent": [_("At most %(room)s.")]},
                params={
                    "received": format_money(received, need.currency),
                    "spent": amount_text(spent, minor),
                    "room": room,
                },
            )
    line_items = {li.pk: li for li in need.line_items.all()}
    for item in items:
        if item["line_item"] not in line_items:
            raise RuleViolation(
                _("That line item is not part of this need."),
                errors={"items": [_("Unknown line item.")]},
            )
    final = fields.get("final", False)
    if final and DeliveryReport.objects.filter(need=need, final=True).exists():
        raise StateConflict(_("This need already has its final report."))
    report = DeliveryReport.objects.create(need=need, created_by=created_by, **fields)
    delivered = DeliveredItem.objects.bulk_create(
        DeliveredItem(report=report, line_item_id=i["line_item"], quantity=i["quantity"])
        for i in items
    )
    ledger.post_expenditure_reported(report=report)
    for item in delivered:
        events.keep(item, line_item=line_items[item.line_item_id])
    events.set_prefetched(report, "items", delivered)
    events.set_prefetched(report, "evidence", [])
    events.record(events.report_events(report, need=need))
    audit_record(
        action="report.file",
        obj=report,
        after=audit_snapshot(report, fields=[f for f in fields if f != "narrative"] + ["need"]),
        detail={"items": len(items)},
    )
    need_complete_if_done(need)
    return report


def need_complete_if_done(need) -> bool:
    """A funded need whose committed money has all arrived and that has its final report is
    completed. Called (under the need's lock) after a final report or a confirmed receipt."""
    if need.status != NeedStatus.FUNDED:
        return False
    if not DeliveryReport.objects.filter(need=need, final=True).exists():
        return False
    if money_received(need) < need.committed_amount:
        return False
    check_transition("need", need.status, NeedStatus.COMPLETED)
    before = {"status": need.status}
    need.status = NeedStatus.COMPLETED
    need.save(update_fields=["status", "updated_at"])
    audit_record(action="need.complete", obj=need, before=before, after={"status": need.status})
    return True


@transaction.atomic
def evidence_attach(*, report: DeliveryReport, upload, uploaded_by=None) -> EvidenceFile:
    """Evidence of any type (photos, receipts, lists), at most 10 MB, encrypted at rest."""
    checked = check_upload(upload, max_bytes=MAX_EVIDENCE_BYTES)
    evidence = EvidenceFile.objects.create(
        report=report,
        filename=checked.filename,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        blob=checked.blob,
        uploaded_by=uploaded_by,
    )
    audit_record(
        action="report.evidence_attach",
        obj=evidence,
        after=audit_snapshot(evidence, fields=["report", "content_type", "size", "sha256"]),
    )
    return evidence


def evidence_content(evidence: EvidenceFile) -> bytes:
    return decrypt_checked(evidence.blob, evidence.sha256)
