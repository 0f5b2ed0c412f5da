"""Writes for sanctions screening, each one transaction: loading a list, screening an
organization, and a verifier's decision on a hit.

- A load replaces the active list of its source in one transaction (same file: nothing changes),
  then, after the commit, a Celery task rescreens every organization.
- Screening scores the organization's name (and aliases, if the model has them) and its
  principals against every active list (aidmatch/screening). A match at or above
  ``SCREENING_HIT_THRESHOLD`` opens a hit, unless the same subject and entry were already
  cleared as a false positive; an open hit moves a pending or verified organization to
  ``screening`` through the vetting code path (its uncommitted proposals are released).
  Re-screening is idempotent: an open hit is updated, never duplicated.
- Clearing the last open hit returns the organization to the status it had before screening
  (pending or verified); confirming a hit rejects the organization through vetting.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as _
from kombu.exceptions import OperationalError

from aidmatch.errors import NotPermitted, RuleViolation, StateConflict
from aidmatch.lifecycle import OrganizationStatus
from aidmatch.screening.matcher import Match, Subject
from aidmatch.screening.names import normalize
from aidmatch.screening.types import ParsedList
from apps.audit.services import audit_record
from apps.organizations.models import Organization, VettingDecision
from apps.organizations.vetting import organization_transition, organization_vet
from apps.screening.index import active_index
from apps.screening.models import SanctionsEntry, SanctionsList, ScreeningHit

logger = logging.getLogger(__name__)
OS = OrganizationStatus
BATCH = 1000
SCREEN_ACTION = "screen"
CLEAR_ACTION = "screening_clear"
# Statuses a hit moves to `screening`; a suspended organization stays suspended (and cannot be
# reinstated while a hit is open); a rejected one is not screened.
FREEZABLE = frozenset({OS.PENDING, OS.VERIFIED})


def sha256_of(paths: Iterable[str]) -> str:
    """One digest over the files of a load (sdn.csv then alt.csv), read in chunks."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


@dataclass
class LoadResult:
    sanctions_list: SanctionsList
    changed: bool
    replaced: SanctionsList | None = None


def sanctions_list_load(
    *,
    parsed: ParsedList,
    file_sha256: str,
    loaded_by=None,
    progress: Callable[[int], None] | None = None,
) -> LoadResult:
    """Load a parsed list as the active one of its source, replacing the previous version in
    the same transaction. The same file again (same SHA-256) changes nothing. After the
    commit, every organization is rescreened (a Celery task)."""
    with transaction.atomic():
        _lock_source(parsed.source)
        active = (
            SanctionsList.objects.select_for_update(no_key=True)
            .filter(source=parsed.source, active=True)
            .first()
        )
        if active is not None and active.file_sha256 == file_sha256:
            return LoadResult(active, changed=False)
        if active is not None:
            active.active = False
            active.save(update_fields=["active"])
        new = SanctionsList.objects.create(
            source=parsed.source,
            version=parsed.version,
            file_sha256=file_sha256,
            active=True,
            loaded_by=loaded_by,
        )
        count = _insert_entries(new, parsed, progress)
        new.entry_count = count
        new.save(update_fields=["entry_count"])
        _repoint_hits(new)
        if active is not None:
            SanctionsEntry.objects.filter(sanctions_list=active).delete()
        audit_record(
            action="sanctions_list.load",
            obj=new,
            after={
                "source": new.source,
                "version": new.version,
                "file_sha256": new.file_sha256,
                "entry_count": count,
                "replaced_version": active.version if active else None,
            },
        )
        transaction.on_commit(_enqueue_rescreen)
    return LoadResult(new, changed=True, replaced=active)


def _enqueue_rescreen() -> None:
    from apps.screening.tasks import rescreen_all_organizations

    try:
        rescreen_all_organizations.delay()
    except OperationalError as exc:  # the list is loaded (committed); only the rescreen waits
        logger.error(
            "the rescreen after a sanctions list load was not enqueued (broker unreachable: %s); "
            "once the broker is back, run: celery -A config.celery_app call "
            "apps.screening.tasks.rescreen_all_organizations",
            exc,
        )


def _lock_source(source: str) -> None:
    """One load per source at a time (a transaction-level advisory lock on PostgreSQL)."""
    if transaction.get_connection().vendor != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(f"screening.load.{source}".encode()).digest()[:4], "big")
    with transaction.get_connection().cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x5C2E, key & 0x7FFFFFFF])


def _insert_entries(new: SanctionsList, parsed: ParsedList, progress) -> int:
    seen: set[str] = set()
    batch: list[SanctionsEntry] = []
    count = 0
    for entry in parsed.entries:
        if entry.ref in seen:
            continue  # a reference listed twice: the first one counts
        seen.add(entry.ref)
        batch.append(
            SanctionsEntry(
                sanctions_list=new,
                ref=entry.ref,
                kind=entry.kind,
                primary_name=entry.primary_name,
                data=entry.as_data(),
            )
        )
        if len(batch) >= BATCH:
            SanctionsEntry.objects.bulk_create(batch)
            count += len(batch)
            batch = []
            if progress:
                progress(count)
    if batch:
        SanctionsEntry.objects.bulk_create(batch)
        count += len(batch)
        if progress:
            progress(count)
    return count


def _repoint_hits(new: SanctionsList) -> None:
    """Hits of this source follow their entry (by reference) into the new version."""
    by_ref = dict(
        SanctionsEntry.objects.filter(sanctions_list=new).values_list("ref", "pk").iterator()
    )
    hits = ScreeningHit.objects.filter(source=new.source).only("pk", "entry_ref", "entry_id")
    changed = []
    for hit in hits.iterator():
        entry_id = by_ref.get(hit.entry_ref)
        if hit.entry_id != entry_id:
            hit.entry_id = entry_id
            changed.append(hit)
    ScreeningHit.objects.bulk_update(changed, ["entry"], batch_size=BATCH)


# --- Screening ----------------------------------------------------------------------------------


def _birth_year(principal: dict) -> int | None:
    raw = str(principal.get("birth_year") or principal.get("date_of_birth") or "")
    found = re.search(r"\b(1[89]\d\d|20\d\d)\b", raw)
    return int(found.group(1)) if found else None


def organization_subjects(organization: Organization) -> list[Subject]:
    """The names screened for an organization: its name, its aliases (if any), its principals."""
    subjects = [Subject("name", organization.name)]
    for alias in getattr(organization, "aliases", None) or []:
        if isinstance(alias, str) and alias.strip():
            subjects.append(Subject("alias", alias))
    for principal in organization.principals or []:
        if isinstance(principal, dict) and str(principal.get("name", "")).strip():
            subjects.append(
                Subject(
                    "principal",
                    str(principal["name"]),
                    birth_year=_birth_year(principal),
                    nationality=str(principal.get("nationality") or ""),
                )
            )
    return subjects


def subject_fingerprint(subject: Subject) -> str:
    """A keyed digest of the normalized name, to recognise the same subject again without
    storing the name in the clear."""
    form = normalize(subject.name, organization=not subject.is_person)
    message = f"{subject.kind}:{form.text}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


@dataclass
class ScreeningResult:
    organization: Organization
    opened: list[ScreeningHit]
    open_hits: int
    frozen: bool


@transaction.atomic
def organization_screen(*, organization_id, trigger: str) -> ScreeningResult:
    """Screen one organization against the active lists (see the module's docstring)."""
    organization = Organization.objects.get(pk=organization_id)
    if organization.status == OS.REJECTED:
        return ScreeningResult(organization, [], 0, False)
    index = active_index()
    matches = index.screen_all(
        organization_subjects(organization), threshold=settings.SCREENING_HIT_THRESHOLD
    )
    opened = [hit for hit in (_record(organization, m) for m in matches) if hit is not None]
    open_hits = organization.screening_hits.filter(resolution="").count()
    frozen = False
    if open_hits and organization.status in FREEZABLE:
        refs = sorted({f"{h.source.upper()} {h.entry_ref}" for h in opened}) or ["open hits"]
        organization = organization_transition(
            organization_id=organization.pk,
            action=SCREEN_ACTION,
            target=OS.SCREENING,
            actor=None,
            reason=f"Sanctions screening ({trigger}): possible match with {', '.join(refs)}",
        )
        frozen = True
    for hit in opened:
        audit_record(
            action="screening_hit.open",
            obj=hit,
            after=_hit_snapshot(hit),
            detail={"trigger": trigger, "organization": str(organization.pk)},
        )
    return ScreeningResult(organization, opened, open_hits, frozen)


def _record(organization: Organization, match: Match) -> ScreeningHit | None:
    """Open a hit for a match, or refresh the open one; None when nothing new was opened."""
    meta = match.entry.extra
    fingerprint = subject_fingerprint(match.subject)
    key = {
        "organization": organization,
        "subject_fingerprint": fingerprint,
        "source": meta["_source"],
        "entry_ref": match.entry.ref,
    }
    resolved = ScreeningHit.objects.filter(**key).exclude(resolution="")
    if resolved.filter(resolution=ScreeningHit.Resolution.FALSE_POSITIVE).exists():
        return None  # cleared before: a verifier decided this subject is not this entry
    fields = {
        "entry_id": meta["_pk"],
        "list_version": meta["_version"],
        "matched_name": match.matched_name[:500],
        "score": round(match.score, 2),
        "reasons": match.reasons,
    }
    existing = ScreeningHit.objects.filter(resolution="", **key).first()
    if existing is not None:
        ScreeningHit.objects.filter(pk=existing.pk).update(**fields)
        return None
    try:
        with transaction.atomic():
            return ScreeningHit.objects.create(
                subject_kind=match.subject.kind, subject=match.subject.name, **key, **fields
            )
    except IntegrityError:
        return None  # a concurrent screening opened the same hit first


def _hit_snapshot(hit: ScreeningHit) -> dict:
    return {
        "organization": str(hit.organization_id),
        "subject_kind": hit.subject_kind,
        "source": hit.source,
        "list_version": hit.list_version,
        "entry_ref": hit.entry_ref,
        "matched_name": hit.matched_name,
        "score": str(hit.score),
        "resolution": hit.resolution or "open",
    }


# --- Verifiers' decisions -------------------------------------------------------------------------


def _check_verifier(verifier, reason: str) -> None:
    if not getattr(verifier, "is_verifier", False):
        raise NotPermitted(_("Only verifiers resolve screening hits."))
    if not reason.strip():
        raise RuleViolation(_("Give a reason."), errors={"reason": [_("Required.")]})


def _lock_open_hit(hit_id) -> ScreeningHit:
    hit = ScreeningHit.objects.select_for_update(no_key=True).get(pk=hit_id)
    if hit.resolution:
        raise StateConflict(
            _("This hit was already resolved (%(resolution)s)."),
            params={"resolution": hit.resolution},
        )
    return hit


def _status_before_screening(organization: Organization) -> str:
    decision = (
        VettingDecision.objects.filter(organization=organization, to_status=OS.SCREENING)
        .order_by("-created_at", "-pk")
        .first()
    )
    if decision is None or decision.from_status not in (OS.PENDING, OS.VERIFIED):
        return OS.PENDING
    return decision.from_status


@transaction.atomic
def screening_hit_clear(*, hit_id, verifier, reason: str) -> ScreeningHit:
    """A false positive: the hit closes for good (the same subject and entry will not hit
    again). With no open hit left, an organization in `screening` returns to the status it had
    before: pending (it still needs verifying) or verified (matching resumes)."""
    _check_verifier(verifier, reason)
    hit = _lock_open_hit(hit_id)
    before = _hit_snapshot(hit)
    _resolve(hit, ScreeningHit.Resolution.FALSE_POSITIVE, verifier, reason)
    organization = Organization.objects.get(pk=hit.organization_id)
    still_open = organization.screening_hits.filter(resolution="").exists()
    if not still_open and organization.status == OS.SCREENING:
        organization_transition(
            organization_id=organization.pk,
            action=CLEAR_ACTION,
            target=_status_before_screening(organization),
            actor=verifier,
            reason=f"Screening hits cleared as false positives: {reason}",
        )
    audit_record(action="screening_hit.clear", obj=hit, before=before, after=_hit_snapshot(hit))
    return hit


@transaction.atomic
def screening_hit_confirm(*, hit_id, verifier, reason: str) -> ScreeningHit:
    """A true match: the organization is rejected through vetting."""
    _check_verifier(verifier, reason)
    hit = _lock_open_hit(hit_id)
    before = _hit_snapshot(hit)
    _resolve(hit, ScreeningHit.Resolution.CONFIRMED, verifier, reason)
    organization = Organization.objects.get(pk=hit.organization_id)
    if organization.status != OS.REJECTED:
        organization_vet(
            organization_id=organization.pk,
            action="reject",
            verifier=verifier,
            reason=f"Sanctions match confirmed ({hit.source.upper()} {hit.entry_ref}): {reason}",
        )
    audit_record(action="screening_hit.confirm", obj=hit, before=before, after=_hit_snapshot(hit))
    return hit


def _resolve(hit: ScreeningHit, resolution: str, verifier, reason: str) -> None:
    hit.resolution = resolution
    hit.resolution_reason = reason
    hit.resolved_by = verifier
    hit.resolved_at = timezone.now()
    hit.save(update_fields=["resolution", "resolution_reason", "resolved_by", "resolved_at"])
