from decimal import Decimal

import pytest
from django.utils import timezone

from apps.events.models import Event
from apps.events.payloads import render_pending
from apps.reference.models import Currency
from tests.factories import MembershipFactory, NeedFactory, OrganizationFactory, PledgeFactory


def events_of(event_type=None, resource_id=None):
    events = Event.objects.order_by("id")
    if event_type is not None:
        events = events.filter(type=str(event_type))
    # A matching run's proposals are made and rendered by the relay: as it will give them
    # (not yet saved, so without an id or a position).
    events = list(events)
    if any(e.pending is not None for e in events):
        events = render_pending(events)
    if resource_id is not None:
        events = [e for e in events if e.resource_id == str(resource_id)]
    return events


@pytest.fixture
def world(db, donor):
    """A verified organization with a staff member, an open need, and a donor's pledge."""
    org = OrganizationFactory(name="Herat Family Food Relief")
    staff = MembershipFactory(organization=org).user
    need = NeedFactory(organization=org, amount=Decimal("1000.00"))
    pledge = PledgeFactory(donor=donor, amount=Decimal("5000.00"))
    return {"org": org, "staff": staff, "need": need, "pledge": pledge, "donor": donor}


def usd():
    return Currency.objects.get(code="USD")


def today():
    return timezone.now().date()
