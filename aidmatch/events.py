"""What a partner app can hear about: every event type, named ``<resource>.<what happened>``.

The names are a public contract (webhook payloads, the event feed, API-key filters): a type is
added, never renamed or removed.
"""

from enum import StrEnum


class EventType(StrEnum):
    NEED_SUBMITTED = "need.submitted"
    NEED_APPROVED = "need.approved"
    NEED_FUNDED = "need.funded"
    NEED_CANCELLED = "need.cancelled"
    PLEDGE_CREATED = "pledge.created"
    PLEDGE_REDUCED = "pledge.reduced"
    PLEDGE_WITHDRAWN = "pledge.withdrawn"
    PLEDGE_EXPIRED = "pledge.expired"
    PLEDGE_SCHEDULE_CREATED = "pledge_schedule.created"
    PLEDGE_SCHEDULE_UPDATED = "pledge_schedule.updated"
    PLEDGE_SCHEDULE_PAUSED = "pledge_schedule.paused"
    PLEDGE_SCHEDULE_RESUMED = "pledge_schedule.resumed"
    PLEDGE_SCHEDULE_CANCELLED = "pledge_schedule.cancelled"
    PLEDGE_SCHEDULE_STOPPED = "pledge_schedule.stopped"
    PLEDGE_SCHEDULE_COMPLETED = "pledge_schedule.completed"
    ALLOCATION_PROPOSED = "allocation.proposed"
    ALLOCATION_COMMITTED = "allocation.committed"
    ALLOCATION_DECLINED = "allocation.declined"
    ALLOCATION_RELEASED = "allocation.released"
    DISBURSEMENT_SCHEDULED = "disbursement.scheduled"
    DISBURSEMENT_SENT = "disbursement.sent"
    DISBURSEMENT_RECEIVED = "disbursement.received"
    DISBURSEMENT_FAILED = "disbursement.failed"
    DISBURSEMENT_RETURNED = "disbursement.returned"
    DISBURSEMENT_REFUNDED = "disbursement.refunded"
    REPORT_SUBMITTED = "report.submitted"
    ORGANIZATION_VERIFIED = "organization.verified"
    ORGANIZATION_SUSPENDED = "organization.suspended"
    ORGANIZATION_REINSTATED = "organization.reinstated"
    # Sent only on request, to one webhook endpoint, to try it out.
    WEBHOOK_TEST = "webhook.test"


class Audience(StrEnum):
    """Whom a payload is rendered for; each sees the resource as the API shows it to them."""

    ORGANIZATION = "organization"  # members (and API keys) of the organization concerned
    DONOR = "donor"  # the donor (a user, or a donor institution's members and keys)
    VERIFIER = "verifier"  # verifiers see everything


def resource_of(event_type: str) -> str:
    """``"need.approved"`` → ``"need"``."""
    return event_type.split(".", 1)[0]
