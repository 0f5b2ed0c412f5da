"""Emails driven by the outbox: what the relay's published events tell people by email.

- ``allocation.proposed``: the donor (the user, or its institution's admins) is told that a
  proposal awaits its commitment, with the amount, the need as the donor sees it (its title and
  the organization's public name: a pseudonym for a sensitive organization; never a place) and
  the deadline, once per allocation. Proposals of auto-committing pledges, and proposals no
  longer awaiting commitment when the event is relayed, are not told.
- ``disbursement.sent``: the receiving organization's admins and staff are told, once per
  tranche.
- ``pledge_schedule.stopped``: the donor (the user, even when its account was deactivated, or
  its institution's admins) is told that its recurring pledge stopped by itself, and why, once
  per schedule.

Runs inside the relay's transaction (``apps.events.signals``): a ``Notice`` row per object is
inserted there, and only the rows this relay inserted lead to a message, so a second relay or a
repeated event sends nothing twice. Messages leave after the commit; a mail server that fails
is logged, never raised (the notice stays written: the feed and the API still tell).

Each recipient reads the email in their own language (``apps.notices.emails``: the texts are
templates, one message per language among an event's recipients).
"""

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.utils import timezone

from aidmatch.access import MemberRole
from aidmatch.events import EventType
from aidmatch.lifecycle import AllocationStatus
from apps.disbursements.models import Disbursement
from apps.disbursements.notifications import donor_recipients
from apps.matching.models import Allocation
from apps.notices.emails import compose, exact
from apps.notices.models import Notice, NoticeKind
from apps.organizations.selectors import member_recipients

logger = logging.getLogger(__name__)

# What a notice reads of a need's organization: its name or pseudonym, never its contacts.
_ORGANIZATION_SHOWN = ("need__organization__name", "need__organization__pseudonym")


def notify_for_events(events: Sequence) -> int:
    """Claim and queue the emails that ``events`` call for; the number of objects told about."""
    proposed = _first_event_per_object(events, EventType.ALLOCATION_PROPOSED)
    sent = _first_event_per_object(events, EventType.DISBURSEMENT_SENT)
    stopped = _first_event_per_object(events, EventType.PLEDGE_SCHEDULE_STOPPED)
    messages = []
    if proposed:
        messages += _proposal_messages(proposed)
    if sent:
        messages += _tranche_messages(sent)
    if stopped:
        messages += _schedule_stopped_messages(stopped)
    if messages:
        transaction.on_commit(lambda: send_quietly(messages))
    return len(messages)


def _first_event_per_object(events: Iterable, event_type: EventType) -> dict[str, object]:
    """{resource id: its first event of this type in the batch}."""
    found: dict[str, object] = {}
    for event in events:
        if event.type == event_type:
            found.setdefault(event.resource_id, event)
    return found


def claim(kind: NoticeKind, events_by_object: dict[str, object]) -> set[str]:
    """Insert the notices of ``kind`` for these objects, in one statement; the object ids whose
    notice this call inserted (the others were told before)."""
    if not events_by_object:
        return set()
    now = timezone.now()
    table = connection.ops.quote_name(Notice._meta.db_table)
    rows = [(kind.value, oid, str(e.uid), now) for oid, e in events_by_object.items()]
    values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    with connection.cursor() as cursor:
        # identifiers from the model, placeholders only: every value is a parameter
        cursor.execute(
            f"INSERT INTO {table} (kind, object_id, event_uid, created_at) VALUES {values} "  # noqa: S608
            "ON CONFLICT (kind, object_id) DO NOTHING RETURNING object_id",
            [value for row in rows for value in row],
        )
        return {row[0] for row in cursor.fetchall()}


def _proposal_messages(events_by_allocation: dict[str, object]) -> list[EmailMessage]:
    waiting = (
        Allocation.objects.filter(
            pk__in=list(events_by_allocation),
            status=AllocationStatus.PROPOSED,
            pledge__auto_commit=False,
        )
        .select_related("pledge__currency", "pledge__donor", "need__organization")
        .only(
            "amount",
            "commit_deadline",
            "pledge__donor_organization_id",
            "pledge__currency__code",
            "pledge__currency__minor_unit",
            "pledge__donor__email",
            "pledge__donor__language",
            "pledge__donor__is_active",
            "need__title",
            "need__organization__sensitive",
            *_ORGANIZATION_SHOWN,
        )
    )
    waiting = {str(a.pk): a for a in waiting}
    claimed = claim(
        NoticeKind.PROPOSAL_AWAITS_COMMITMENT,
        {oid: e for oid, e in events_by_allocation.items() if oid in waiting},
    )
    # One message per donor for the proposals of this batch (a matching run proposes many).
    by_donor: dict[tuple, list[Allocation]] = defaultdict(list)
    for allocation_id in sorted(claimed):
        allocation = waiting[allocation_id]
        pledge = allocation.pledge
        by_donor[(pledge.donor_id, pledge.donor_organization_id)].append(allocation)
    messages = []
    for allocations in by_donor.values():
        recipients = donor_recipients(allocations[0].pledge)
        if not recipients:
            continue
        allocations.sort(key=lambda a: (a.commit_deadline or timezone.now(), str(a.pk)))
        context = {"proposals": [_proposal_shown(a) for a in allocations]}
        messages += compose(NoticeKind.PROPOSAL_AWAITS_COMMITMENT.value, context, recipients)
    return messages


def _proposal_shown(allocation: Allocation) -> dict:
    """One proposal as the donor may see it: the need's title and the organization's public
    name (a pseudonym when sensitive), never a place."""
    need = allocation.need
    return {
        "id": str(allocation.pk),
        "amount": exact(allocation.amount, allocation.pledge.currency),
        "currency": allocation.pledge.currency.code,
        "need_title": need.title,
        "organization": need.organization.public_name(),
        "deadline": allocation.commit_deadline,
    }


def _tranche_messages(events_by_tranche: dict[str, object]) -> list[EmailMessage]:
    tranches = {
        str(t.pk): t
        for t in Disbursement.objects.filter(pk__in=list(events_by_tranche))
        .select_related("currency")
        .only(
            "amount",
            "channel",
            "provider",
            "reference",
            "value_date",
            "sent_at",
            "organization_id",
            "currency__code",
            "currency__minor_unit",
        )
    }
    claimed = claim(
        NoticeKind.TRANCHE_SENT,
        {oid: e for oid, e in events_by_tranche.items() if oid in tranches},
    )
    messages = []
    for tranche_id in sorted(claimed):
        tranche = tranches[tranche_id]
        recipients = member_recipients(
            tranche.organization_id, [MemberRole.ADMIN, MemberRole.STAFF]
        )
        if not recipients:
            continue
        context = {
            "id": str(tranche.pk),
            "amount": exact(tranche.amount, tranche.currency),
            "currency": tranche.currency.code,
            "channel": tranche.channel,
            "provider": tranche.provider,
            "reference": tranche.reference,
            "sent_on": tranche.value_date or (tranche.sent_at and tranche.sent_at.date()),
        }
        messages += compose(NoticeKind.TRANCHE_SENT.value, context, recipients)
    return messages


def _schedule_stopped_messages(events_by_schedule: dict[str, object]) -> list[EmailMessage]:
    from apps.pledges.models import PledgeSchedule

    schedules = {
        str(s.pk): s
        for s in PledgeSchedule.objects.filter(
            pk__in=list(events_by_schedule), status="stopped"
        ).select_related("currency", "donor")
    }
    claimed = claim(
        NoticeKind.SCHEDULE_STOPPED,
        {oid: e for oid, e in events_by_schedule.items() if oid in schedules},
    )
    messages = []
    for schedule_id in sorted(claimed):
        schedule = schedules[schedule_id]
        if schedule.donor_id is not None:
            # told even when its account was deactivated
            recipients = [(schedule.donor.email, schedule.donor.language)]
        else:
            recipients = member_recipients(schedule.donor_organization_id, [MemberRole.ADMIN])
        context = {
            "id": str(schedule.pk),
            "amount": exact(schedule.amount, schedule.currency),
            "currency": schedule.currency.code,
            "interval": schedule.interval,
            **stop_reason_shown(schedule.stop_reason),
        }
        messages += compose(NoticeKind.SCHEDULE_STOPPED.value, context, recipients)
    return messages


def stop_reason_shown(reason: str) -> dict:
    """A stopped schedule's stored reason (English, written by apps.pledges.schedules) as the
    email's template shows it: ``stop_kind`` names a reason the template words in the
    recipient's language, with ``stop_status`` (an organization's status) or ``stop_detail``
    (a rule's own message, kept as stored); any other reason is shown as stored."""
    for prefix, kind in _STOP_REASONS:
        if reason.startswith(prefix):
            rest = reason[len(prefix) :]
            if kind in ("organization_became", "organization_is"):
                return {"stop_kind": kind, "stop_status": rest, "stop_reason": reason}
            return {"stop_kind": kind, "stop_detail": rest, "stop_reason": reason}
    return {"stop_kind": "", "stop_reason": reason}


# The reasons apps.pledges.schedules writes, by their fixed beginning.
_STOP_REASONS = (
    ("the donor's account was deactivated", "account_deactivated"),
    ("the donor organization was ", "organization_became"),
    ("the donor organization is ", "organization_is"),
    ("its earmark can no longer receive money: ", "earmark_closed"),
)


def send_quietly(messages: list[EmailMessage]) -> int:
    """Hand the messages to the mail server; one that fails is logged, never raised."""
    try:
        return get_connection().send_messages(messages) or 0
    except Exception:  # the mail server is down: the notices, the feed and the API still tell
        logger.exception("could not send %d notice emails", len(messages))
        return 0
