"""The Django admin: no status set by hand (vetting and screening own it), no organization
added past the registration checks, and opening one is an audited confidential read."""

import pytest

from apps.audit.models import AuditEvent
from apps.organizations.models import Organization
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_opening_an_organization_in_the_admin_is_an_audited_confidential_read(staff_client):
    org = OrganizationFactory(status="pending")

    response = staff_client.get(f"/admin/organizations/organization/{org.pk}/change/")

    assert response.status_code == 200
    event = AuditEvent.objects.get(action="confidential.read", object_id=str(org.pk))
    assert {"contact_email", "principals"} <= set(event.detail["fields"])
    assert org.contact_email not in str(event.detail)  # named, never shown


def test_the_admin_cannot_set_a_status_or_add_an_organization(staff_client):
    org = OrganizationFactory(status="pending")
    form = staff_client.get(f"/admin/organizations/organization/{org.pk}/change/")

    assert 'name="status"' not in form.content.decode()
    assert staff_client.get("/admin/organizations/organization/add/").status_code == 403
    assert Organization.objects.get(pk=org.pk).status == "pending"


def test_needs_pledges_and_allocations_are_shown_read_only_without_the_exact_location(
    staff_client,
):
    from decimal import Decimal

    from tests.factories import NeedFactory, PledgeFactory, propose

    need = NeedFactory()
    allocation = propose(PledgeFactory(), need, Decimal("10.00"))

    page = staff_client.get(f"/admin/needs/need/{need.pk}/change/")
    assert page.status_code == 200
    assert need.location_detail not in page.content.decode()
    assert staff_client.get("/admin/matching/allocation/").status_code == 200
    assert (
        staff_client.get(f"/admin/matching/allocation/{allocation.pk}/change/").status_code == 200
    )
    assert (
        staff_client.post(
            f"/admin/pledges/pledge/{allocation.pledge_id}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert allocation.pledge.__class__.objects.filter(pk=allocation.pledge_id).exists()


def test_invitations_are_shown_read_only_without_their_token_digest(staff_client):
    from datetime import timedelta

    from django.utils import timezone

    from apps.organizations.models import Invitation

    invitation = Invitation.objects.create(
        organization=OrganizationFactory(),
        email="invited@example.org",
        role="staff",
        digest="ab" * 32,
        expires_at=timezone.now() + timedelta(days=7),
    )

    page = staff_client.get(f"/admin/organizations/invitation/{invitation.pk}/change/")
    assert page.status_code == 200
    assert "ab" * 32 not in page.content.decode()
    assert staff_client.get("/admin/organizations/invitation/add/").status_code == 403
