"""A small world for the contract tests, and the money invariants they check after each call.

The world: a donor who is also a staff member of a verified organization with open, draft and
submitted needs; two pledges of the donor's (and one of another donor) with proposals on needs
of that organization and of others, two of them committed; and a pending organization.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Q, Sum
from django.utils import timezone

from aidmatch.access import MemberRole
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
from apps.matching.services.allocations import allocation_commit
from apps.needs.models import Need, NeedLineItem
from apps.organizations.models import OrganizationStatus
from apps.pledges.models import Pledge
from tests.factories import (
    MembershipFactory,
    NeedFactory,
    OrganizationFactory,
    PledgeFactory,
    UserFactory,
    propose,
)


@dataclass
class World:
    token: str = ""
    ids: dict[str, list[str]] = field(default_factory=dict)


# The schema's generation hooks are registered at import time and read the ids from here.
CURRENT = World()


@pytest.fixture
def world(transactional_db) -> World:
    donor = UserFactory(full_name="Dana Donor")
    own = OrganizationFactory(name="Herat Women's Bakery")
    MembershipFactory(user=donor, organization=own, role=MemberRole.STAFF)
    other = OrganizationFactory(name="Balkh Schools Network", kind="school_network")
    sensitive = OrganizationFactory(name="Hidden Girls' School", sensitive=True)
    pending = OrganizationFactory(name="Kunduz Clinic", status=OrganizationStatus.PENDING)

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
    _, CURRENT.token = account_services.token_create(user=donor)
    needs = own_needs + other_needs
    CURRENT.ids = {
        "needs": [str(n.pk) for n in needs],
        "open_needs": [str(n.pk) for n in needs if n.status == NeedStatus.OPEN],
        "closed_needs": [str(n.pk) for n in needs if n.status != NeedStatus.OPEN],
        "pledges": [str(p.pk) for p in (pledge, spare, theirs)],
        "allocations": [str(a.pk) for a in allocations],
        "organizations": [str(o.pk) for o in (own, other, sensitive, pending)],
        "pending_organization": [str(pending.pk)],
    }
    yield CURRENT
    CURRENT.token, CURRENT.ids = "", {}


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
