"""A tranche sent but not confirmed after DISBURSEMENT_CONFIRM_DAYS is flagged and notified,
once, by the periodic task."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from aidmatch.access import MemberRole
from apps.disbursements.models import Disbursement
from apps.disbursements.tasks import flag_unconfirmed_tranches
from apps.matching.services.allocations import allocation_commit
from tests.conftest import client_for
from tests.factories import (
    MembershipFactory,
    NeedFactory,
    OrganizationFactory,
    PledgeFactory,
    propose,
)


@pytest.fixture
def sent(db, donor, donor_client, settings):
    """A tranche sent 15 days ago, one sent yesterday, and one confirmed long ago."""
    settings.DISBURSEMENT_CONFIRM_DAYS = 14
    org = OrganizationFactory(name="Herat Girls' Learning Circle", sensitive=True)
    admin = MembershipFactory(organization=org, role=MemberRole.ADMIN).user
    staff = MembershipFactory(organization=org, role=MemberRole.STAFF).user
    need = NeedFactory(organization=org, amount=Decimal("3000.00"))
    pledge = PledgeFactory(donor=donor, amount=Decimal("3000.00"))
    allocation = allocation_commit(allocation_id=propose(pledge, need, Decimal("3000.00")).pk)
    ids = []
    for _ in range(3):
        body = {
            "allocations": [str(allocation.pk)],
            "amount": "500.00",
            "currency": "USD",
            "channel": "hawala",
        }
        tranche = donor_client.post("/api/v1/disbursements/", body, format="json").json()
        donor_client.post(f"/api/v1/disbursements/{tranche['id']}/mark-sent", {}, format="json")
        ids.append(tranche["id"])
    old, recent, confirmed = ids
    client_for(staff).post(
        f"/api/v1/disbursements/{confirmed}/confirm-receipt",
        {"received_amount": "500.00", "received_currency": "USD"},
        format="json",
    )
    long_ago = timezone.now() - timedelta(days=15)
    Disbursement.objects.filter(pk__in=[old, confirmed]).update(sent_at=long_ago)
    Disbursement.objects.filter(pk=recent).update(sent_at=timezone.now() - timedelta(days=1))
    mail.outbox.clear()
    return {"old": old, "recent": recent, "confirmed": confirmed, "admin": admin, "staff": staff}


def test_an_old_unconfirmed_tranche_is_flagged_and_both_sides_are_told(sent, donor, donor_client):
    flagged = flag_unconfirmed_tranches.delay().get()

    assert flagged == 1
    rows = {str(d.pk): d.flagged_unconfirmed_at for d in Disbursement.objects.all()}
    assert rows[sent["old"]] is not None
    assert rows[sent["recent"]] is None and rows[sent["confirmed"]] is None
    shown = donor_client.get(f"/api/v1/disbursements/{sent['old']}").json()
    assert shown["flagged_unconfirmed_at"] is not None

    assert len(mail.outbox) == 2
    (to_donor,) = [m for m in mail.outbox if m.to == [donor.email]]
    (to_org,) = [m for m in mail.outbox if m is not to_donor]
    assert sorted(to_org.to) == sorted([sent["admin"].email, sent["staff"].email])
    assert sent["old"] in to_org.body and "confirm-receipt" in to_org.body
    assert to_donor.to == [donor.email]
    assert sent["old"] in to_donor.body
    # the donor is told the sensitive organization's pseudonym, never its name
    assert "Herat Girls" not in to_donor.body


def test_running_the_task_again_flags_and_notifies_nothing_more(sent):
    flag_unconfirmed_tranches.delay().get()
    before = list(Disbursement.objects.order_by("pk").values_list("flagged_unconfirmed_at"))
    mail.outbox.clear()

    assert flag_unconfirmed_tranches.delay().get() == 0
    assert mail.outbox == []
    assert list(Disbursement.objects.order_by("pk").values_list("flagged_unconfirmed_at")) == before
