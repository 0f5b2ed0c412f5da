"""A small world for the contract tests, the callers who use it, and the money invariants
checked after each call.

The world: a verified organization ("own") with open, draft and submitted needs, a staff
member, an admin, and an API key with every scope; other organizations (one sensitive, one
pending, one with no province); a donor with two pledges (and another donor's one) proposed
to needs of "own" and of others, two of the proposals committed, one of them with a tranche
sent and a delivery report filed; a match run nobody requested (a periodic one); a screening
hit on a listed director; a document and an evidence file; and a verifier.

It is built once per module inside a transaction that is rolled back at the end, and every call
a test makes runs in a savepoint rolled back after its checks: each generated request meets the
same world, as a fresh client would, and nothing is left behind.
"""

import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from aidmatch.access import ALL_SCOPES, MemberRole, PlatformRole
from aidmatch.lifecycle import (
    ALLOCATION_COMMITTED,
    NEED_FUNDABLE,
    PLEDGE_LIVE,
    AllocationStatus,
    NeedStatus,
    PledgeStatus,
    need_funding_status,
    pledge_allocation_status,
)
from apps.accounts import services as account_services
from apps.disbursements import services as tranches
from apps.matching.models import MatchRun
from apps.matching.services.allocations import allocation_commit
from apps.matching.services.runs import match_run_request
from apps.needs.models import Need, NeedLineItem
from apps.organizations.documents import organization_document_upload
from apps.organizations.models import Membership, OrganizationStatus
from apps.pledges.models import Pledge
from apps.reports.services import evidence_attach, report_file
from apps.screening.models import ScreeningHit
from apps.screening.services import organization_screen
from tests.apps.screening.helpers import load_samples
from tests.factories import (
    ApiKeyFactory,
    MembershipFactory,
    NeedFactory,
    OrganizationFactory,
    PledgeFactory,
    UserFactory,
    propose,
)

ROLES = ["anonymous", "donor", "staff", "admin", "verifier", "api_key"]


@dataclass
class World:
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    ids: dict[str, list[str]] = field(default_factory=dict)


# The schema's generation hooks are registered at import time and read the ids from here.
CURRENT = World()


def _bearer(user) -> dict[str, str]:
    _, token = account_services.token_create(user=user)
    return {"Authorization": f"Bearer {token}"}


def _build() -> None:
    donor = UserFactory(full_name="Dana Donor")
    staff = UserFactory(full_name="Sami Staff")
    admin = UserFactory(full_name="Ada Admin")
    verifier = UserFactory(platform_role=PlatformRole.VERIFIER)
    own = OrganizationFactory(name="Herat Women's Bakery")
    MembershipFactory(user=staff, organization=own, role=MemberRole.STAFF)
    MembershipFactory(user=admin, organization=own, role=MemberRole.ADMIN)
    other = OrganizationFactory(name="Balkh Schools Network", kind="school_network")
    sensitive = OrganizationFactory(name="Hidden Girls' School", sensitive=True)
    pending = OrganizationFactory(name="Kunduz Clinic", status=OrganizationStatus.PENDING)
    nowhere = OrganizationFactory(name="Kabul Widows' Bakery", province_id=None)
    api_key, key = ApiKeyFactory.create(organization=own, scopes=sorted(ALL_SCOPES))

    own_needs = [
        NeedFactory(organization=own, amount=Decimal("8000.00")),
        NeedFactory(organization=own, amount=Decimal("3000.00"), urgency=5),
        NeedFactory(organization=own, status=NeedStatus.DRAFT),
        NeedFactory(organization=own, status=NeedStatus.SUBMITTED),
        NeedFactory(organization=own, amount=Decimal("250000"), currency_id="AFN"),
        NeedFactory(
            organization=own,
            amount=Decimal("120000"),
            currency_id="JPY",
            deadline=timezone.now().date() + timedelta(days=3),
        ),
    ]
    other_needs = [
        NeedFactory(organization=other, amount=Decimal("5000.00"), sector_id="education"),
        NeedFactory(organization=sensitive, amount=Decimal("1200.00"), sector_id="education"),
        NeedFactory(organization=other, status=NeedStatus.DRAFT),
        NeedFactory(organization=other, status=NeedStatus.CANCELLED),
    ]
    pledge = PledgeFactory(donor=donor, amount=Decimal("10000.00"))
    spare = PledgeFactory(donor=donor, amount=Decimal("900.00"), anonymous=True)
    theirs = PledgeFactory(amount=Decimal("700.00"))
    allocations = [
        propose(pledge, own_needs[0], Decimal("2500.00")),
        propose(pledge, own_needs[1], Decimal("1000.00")),
        propose(pledge, other_needs[0], Decimal("1500.00")),
        propose(pledge, other_needs[1], Decimal("400.00")),
        propose(spare, own_needs[0], Decimal("300.00")),
        propose(spare, other_needs[0], Decimal("250.00")),
        propose(theirs, other_needs[0], Decimal("700.00")),
    ]
    for committed in (allocations[0], allocations[2]):
        allocation_commit(allocation_id=committed.pk, actor=donor)
    tranche = tranches.disbursement_create(
        actor=donor,
        allocation_ids=[allocations[0].pk],
        amount=Decimal("1000.00"),
        currency=pledge.currency,
        channel="hawala",
    )
    tranches.disbursement_mark_sent(disbursement_id=tranche.pk, actor=donor)
    scheduled = tranches.disbursement_create(
        actor=donor,
        allocation_ids=[allocations[2].pk],
        amount=Decimal("500.00"),
        currency=pledge.currency,
        channel="bank",
    )
    today = timezone.now().date()
    report = report_file(
        need_id=own_needs[0].pk,
        created_by=staff,
        period_start=today - timedelta(days=7),
        period_end=today,
        reached_women=3,
        narrative="Packages handed out at the distribution point.",
    )
    evidence = evidence_attach(
        report=report,
        upload=SimpleUploadedFile("photo.pdf", b"%PDF-1.4 evidence", "application/pdf"),
        uploaded_by=staff,
    )
    document = organization_document_upload(
        actor=admin,
        organization=own,
        kind="registration_certificate",
        upload=SimpleUploadedFile("c.pdf", b"%PDF-1.4 certificate", "application/pdf"),
    )
    automatic = match_run_request(trigger=MatchRun.Trigger.PERIODIC)
    manual = match_run_request(trigger=MatchRun.Trigger.MANUAL, by=verifier, reason="contract")
    load_samples()
    listed = OrganizationFactory(
        principals=[{"name": "Mullah Abdul-Ghani Beradar", "role": "director"}]
    )
    organization_screen(organization_id=listed.pk, trigger="list load")

    CURRENT.headers = {
        "anonymous": {},
        "donor": _bearer(donor),
        "staff": _bearer(staff),
        "admin": _bearer(admin),
        "verifier": _bearer(verifier),
        "api_key": {"Authorization": f"Api-Key {key}"},
    }
    needs = own_needs + other_needs
    organizations = (own, other, sensitive, pending, nowhere, listed)
    CURRENT.ids = {
        "needs": [str(n.pk) for n in needs],
        "own_needs": [str(n.pk) for n in own_needs],
        "open_needs": [str(n.pk) for n in needs if n.status == NeedStatus.OPEN],
        "closed_needs": [str(n.pk) for n in needs if n.status != NeedStatus.OPEN],
        "pledges": [str(p.pk) for p in (pledge, spare, theirs)],
        "allocations": [str(a.pk) for a in allocations],
        "committed_allocations": [str(allocations[0].pk), str(allocations[2].pk)],
        "organizations": [str(o.pk) for o in organizations],
        "own_organization": [str(own.pk)],
        "pending_organization": [str(pending.pk)],
        "disbursements": [str(tranche.pk), str(scheduled.pk)],
        "reports": [str(report.pk)],
        "evidence_id": [str(evidence.pk)],
        "document_id": [str(document.pk)],
        "match-runs": [str(automatic.pk), str(manual.pk)],
        "screening-hits": [str(h.pk) for h in ScreeningHit.objects.all()],
        "api-keys": [api_key.prefix],
        "membership_id": [str(m.pk) for m in Membership.objects.filter(organization=own)],
    }


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The world, built once for the module in a transaction rolled back at its end. The
    in-process WSGI calls must not close the connection at each request's start and end (as
    Django does outside tests): that would end the transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    with django_db_blocker.unblock(), transaction.atomic():
        _build()
        try:
            yield CURRENT
        finally:
            transaction.set_rollback(True)
            CURRENT.headers, CURRENT.ids = {}, {}
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


def _aborted() -> bool:
    status = getattr(getattr(connection.connection, "info", None), "transaction_status", None)
    return status == 3  # psycopg's TRANSACTION_STATUS_INERROR


@contextlib.contextmanager
def one_call():
    """A call and its checks, then the world as it was. A statement that failed outside any
    atomic block aborts the transaction here, where autocommit would have ended it: the
    invariants are then checked on the world as it was."""
    savepoint = transaction.savepoint()
    try:
        yield
    finally:
        transaction.savepoint_rollback(savepoint)


def check_money_invariants() -> None:
    if _aborted():
        return  # the call's statements were all undone: nothing moved
    assert_money_invariants()


def _sum(field_name: str, statuses) -> Sum:
    return Sum(f"allocations__{field_name}", filter=Q(allocations__status__in=list(statuses)))


def assert_money_invariants() -> None:
    """What the database and the services promise, whatever the API was sent: no pledge or
    need holds more than its amount; cached totals equal the sums of the allocation rows;
    live statuses follow from the totals; a need with line items costs their sum."""
    proposed, committed = [AllocationStatus.PROPOSED], ALLOCATION_COMMITTED
    pledges = Pledge.objects.annotate(
        rows_proposed=_sum("amount", proposed), rows_committed=_sum("amount", committed)
    )
    for p in pledges:
        assert p.proposed_amount + p.committed_amount <= p.amount <= p.original_amount, p
        assert p.proposed_amount == (p.rows_proposed or 0), p
        assert p.committed_amount == (p.rows_committed or 0), p
        if p.status in PLEDGE_LIVE:
            allocated = p.proposed_amount + p.committed_amount
            assert p.status == pledge_allocation_status(p.amount, allocated, p.disbursed_amount)
        if p.status == PledgeStatus.WITHDRAWN:
            assert p.proposed_amount == 0, p
    line_item_totals = dict(
        NeedLineItem.objects.values_list("need").annotate(total=Sum("amount")).order_by()
    )
    needs = Need.objects.annotate(
        rows_proposed=_sum("need_amount", proposed), rows_committed=_sum("need_amount", committed)
    )
    for n in needs:
        assert n.proposed_amount + n.committed_amount <= n.amount, n
        assert n.proposed_amount == (n.rows_proposed or 0), n
        assert n.committed_amount == (n.rows_committed or 0), n
        if n.status in {*NEED_FUNDABLE, NeedStatus.FUNDED}:
            assert n.status == need_funding_status(n.amount, n.committed_amount), n
        if n.status in (NeedStatus.CANCELLED, NeedStatus.EXPIRED):
            assert n.proposed_amount == 0, n
        if n.pk in line_item_totals:
            assert n.amount == line_item_totals[n.pk], n
