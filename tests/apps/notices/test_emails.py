"""Emails driven by the outbox: a donor is told once per allocation that a proposal awaits its
commitment, an organization once per tranche that money was sent to it. The events are written
with record_event (as the services do) and published by the real relay."""

import logging
import socket
from decimal import Decimal

import pytest
from django.core import mail

from aidmatch.access import MemberRole
from aidmatch.events import Audience, EventType
from apps.core.l10n import format_day
from apps.events.relay import relay_pending
from apps.events.services import record_event
from apps.matching.services.allocations import allocation_commit
from apps.notices.models import Notice, NoticeKind
from tests.factories import (
    MembershipFactory,
    NeedFactory,
    OrganizationFactory,
    PledgeFactory,
    propose,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def relay(django_capture_on_commit_callbacks):
    """Run the relay as a worker would: its after-commit work (the emails) included."""

    def run() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return relay_pending()

    return run


def _proposed(allocation):
    pledge = allocation.pledge
    return record_event(
        EventType.ALLOCATION_PROPOSED,
        resource_id=allocation.pk,
        payloads={Audience.DONOR: {"id": str(allocation.pk)}},
        organization_id=allocation.need.organization_id,
        donor_id=pledge.donor_id,
        donor_organization_id=pledge.donor_organization_id,
    )


def _sent(tranche_id, organization, donor):
    return record_event(
        EventType.DISBURSEMENT_SENT,
        resource_id=tranche_id,
        payloads={Audience.ORGANIZATION: {"id": str(tranche_id)}},
        organization_id=organization.pk,
        donor_id=donor.pk,
    )


def _mine(kind_subject: str) -> list:
    return [m for m in mail.outbox if kind_subject in m.subject]


@pytest.fixture
def secret_org():
    return OrganizationFactory(
        name="Herat Girls' Learning Circle", pseudonym="Partner Q7", sensitive=True
    )


def test_a_donor_is_told_once_that_a_proposal_awaits_its_commitment(donor, secret_org, relay):
    need = NeedFactory(
        organization=secret_org, title="Books for grade 6", location_detail="Cellar, lane 3"
    )
    pledge = PledgeFactory(donor=donor, amount=Decimal("900.00"))
    allocation = propose(pledge, need, Decimal("250.00"))
    mail.outbox.clear()
    _proposed(allocation)

    relay()

    (message,) = _mine("await")
    assert message.to == [donor.email]
    assert "$250.00" in message.body and str(allocation.pk) in message.body
    assert '"Books for grade 6" (Partner Q7)' in message.body
    deadline = allocation.commit_deadline
    assert f"{format_day(deadline, 'en')}, {deadline:%H:%M} UTC" in message.body
    # a sensitive organization's name and any place stay out of a donor's mailbox
    for hidden in ("Herat Girls", "Cellar", need.district_id, need.province_id):
        assert hidden not in message.body
    notice = Notice.objects.get()
    assert (notice.kind, notice.object_id) == (
        NoticeKind.PROPOSAL_AWAITS_COMMITMENT,
        str(allocation.pk),
    )

    # a second relay, and the same event type again for the same allocation: nothing more
    mail.outbox.clear()
    relay()
    _proposed(allocation)
    relay()
    assert _mine("await") == [] and Notice.objects.count() == 1


def test_a_donor_institution_s_admins_are_told(relay):
    institution = OrganizationFactory(kind="donor_institution")
    admin = MembershipFactory(organization=institution, role=MemberRole.ADMIN).user
    MembershipFactory(organization=institution, role=MemberRole.STAFF)
    pledge = PledgeFactory(donor=None, donor_organization=institution)
    allocation = propose(pledge, NeedFactory(), Decimal("100.00"))
    mail.outbox.clear()
    _proposed(allocation)

    relay()

    (message,) = _mine("await")
    assert message.to == [admin.email]


def test_one_batch_of_proposals_is_one_message_per_donor(donor, relay):
    pledge = PledgeFactory(donor=donor, amount=Decimal("900.00"))
    first = propose(pledge, NeedFactory(title="Flour"), Decimal("100.00"))
    second = propose(pledge, NeedFactory(title="Blankets"), Decimal("200.00"))
    other = propose(PledgeFactory(), NeedFactory(), Decimal("50.00"))
    mail.outbox.clear()
    for allocation in (first, second, other):
        _proposed(allocation)

    relay()

    messages = _mine("await")
    assert len(messages) == 2
    (to_donor,) = [m for m in messages if m.to == [donor.email]]
    assert "2 proposals" in to_donor.subject
    assert str(first.pk) in to_donor.body and str(second.pk) in to_donor.body
    assert str(other.pk) not in to_donor.body
    assert Notice.objects.count() == 3


def test_auto_committed_and_already_committed_proposals_are_not_told(donor, relay):
    auto = propose(PledgeFactory(donor=donor, auto_commit=True), NeedFactory(), Decimal("10.00"))
    done = propose(PledgeFactory(donor=donor), NeedFactory(), Decimal("20.00"))
    allocation_commit(allocation_id=done.pk)
    mail.outbox.clear()
    _proposed(auto)
    _proposed(done)

    relay()

    assert _mine("await") == [] and not Notice.objects.exists()


@pytest.fixture
def tranche(donor, donor_client):
    """A tranche of 500 USD, scheduled then sent by the donor, to an organization with an admin,
    a staff member and another organization's admin around."""
    org = OrganizationFactory()
    admin = MembershipFactory(organization=org, role=MemberRole.ADMIN).user
    staff = MembershipFactory(organization=org, role=MemberRole.STAFF).user
    MembershipFactory(role=MemberRole.ADMIN)  # of another organization
    need = NeedFactory(organization=org, amount=Decimal("3000.00"))
    pledge = PledgeFactory(donor=donor, amount=Decimal("3000.00"))
    allocation = allocation_commit(allocation_id=propose(pledge, need, Decimal("3000.00")).pk)
    body = {
        "allocations": [str(allocation.pk)],
        "amount": "500.00",
        "currency": "USD",
        "channel": "hawala",
        "reference": "HW-77",
    }
    created = donor_client.post("/api/v1/disbursements/", body, format="json").json()
    donor_client.post(f"/api/v1/disbursements/{created['id']}/mark-sent", {}, format="json")
    mail.outbox.clear()
    return {"id": created["id"], "org": org, "admin": admin, "staff": staff}


def test_an_organization_is_told_once_when_a_tranche_is_sent_to_it(tranche, donor, relay):
    _sent(tranche["id"], tranche["org"], donor)

    relay()

    (message,) = _mine("tranche was sent")
    assert sorted(message.to) == sorted([tranche["admin"].email, tranche["staff"].email])
    assert tranche["id"] in message.body and "$500.00 by hawala" in message.body
    assert "HW-77" in message.body and "confirm-receipt" in message.body
    assert Notice.objects.filter(kind=NoticeKind.TRANCHE_SENT, object_id=tranche["id"]).exists()

    mail.outbox.clear()
    _sent(tranche["id"], tranche["org"], donor)  # a duplicate event
    relay()
    relay()
    assert _mine("tranche was sent") == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_mail_server_failure_is_logged_never_raised(tranche, donor, relay, settings, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _closed_port()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 2
    _sent(tranche["id"], tranche["org"], donor)

    with caplog.at_level(logging.ERROR, logger="apps.notices.services"):
        assert relay() >= 1

    assert "could not send 1 notice emails" in caplog.text
    assert Notice.objects.filter(object_id=tranche["id"]).count() == 1


def test_a_failure_in_the_notices_never_holds_the_outbox_back(relay, caplog):
    event = record_event(
        EventType.ALLOCATION_PROPOSED, resource_id="not-an-allocation-id", payloads={}
    )

    with caplog.at_level(logging.ERROR, logger="apps.notices.receivers"):
        assert relay() == 1

    event.refresh_from_db()
    assert event.position is not None
    assert "notices for 1 events failed" in caplog.text
    assert not Notice.objects.exists()
