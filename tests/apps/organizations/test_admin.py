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
