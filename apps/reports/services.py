"""Delivery reports: filed by the organization for its need; a final report on a need whose
money has arrived completes it."""

import hashlib
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from aidmatch.disbursing import DisbursementStatus
from aidmatch.errors import RuleViolation, StateConflict
from aidmatch.lifecycle import NeedStatus, check_transition
from apps.core.fields import fernet
from apps.disbursements.models import DisbursementLine
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


@transaction.atomic
def report_file(*, need_id, created_by=None, items=(), **fields) -> DeliveryReport:
    need = lock_needs([need_id])[need_id]
    if need.status not in REPORTABLE:
        raise StateConflict(f"A {need.status} need takes no reports.")
    if fields["period_end"] < fields["period_start"]:
        raise RuleViolation(
            "The period ends before it starts.", errors={"period_end": ["Before start."]}
        )
    if fields["period_start"] > timezone.now().date():
        raise RuleViolation(
            "The period has not started.", errors={"period_start": ["In the future."]}
        )
    line_items = {li.pk: li for li in need.line_items.all()}
    for item in items:
        if item["line_item"] not in line_items:
            raise RuleViolation(
                "That line item is not part of this need.", errors={"items": ["Unknown line item."]}
            )
    final = fields.get("final", False)
    if final and DeliveryReport.objects.filter(need=need, final=True).exists():
        raise StateConflict("This need already has its final report.")
    report = DeliveryReport.objects.create(need=need, created_by=created_by, **fields)
    DeliveredItem.objects.bulk_create(
        DeliveredItem(report=report, line_item_id=i["line_item"], quantity=i["quantity"])
        for i in items
    )
    ledger.post_expenditure_reported(report=report)
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
    need.status = NeedStatus.COMPLETED
    need.save(update_fields=["status", "updated_at"])
    return True


@transaction.atomic
def evidence_attach(*, report: DeliveryReport, upload, uploaded_by=None) -> EvidenceFile:
    content = upload.read(MAX_EVIDENCE_BYTES + 1)
    if len(content) > MAX_EVIDENCE_BYTES:
        raise RuleViolation("Evidence files are at most 10 MB.", errors={"file": ["Too large."]})
    if not content:
        raise RuleViolation("The file is empty.", errors={"file": ["Empty."]})
    return EvidenceFile.objects.create(
        report=report,
        filename=(upload.name or "evidence")[:255],
        content_type=(getattr(upload, "content_type", "") or "application/octet-stream")[:100],
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        blob=fernet().encrypt(content),
        uploaded_by=uploaded_by,
    )


def evidence_content(evidence: EvidenceFile) -> bytes:
    content = fernet().decrypt(bytes(evidence.blob))
    if hashlib.sha256(content).hexdigest() != evidence.sha256:
        raise StateConflict("The stored file does not match its SHA-256.")
    return content
