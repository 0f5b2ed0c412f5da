"""Members and API keys in the portal, for the organization's admins: invite and revoke through
the invitation flow, create a key (shown once) and revoke it; the addresses shown are audited
reads, as in the API."""

import pytest
from django.test import Client

from apps.audit.models import AuditEvent
from apps.organizations.models import ApiKey, Invitation, OrganizationStatus
from tests.apps.portal.conftest import signed_in

pytestmark = pytest.mark.django_db


def test_an_admin_invites_a_member_sees_the_invitation_and_revokes_it(admin_x, org_x):
    client = signed_in(admin_x, "fa")

    invited = client.post("/portal/members", {"email": "Zarghuna@ngo.example.org", "role": "staff"})

    assert invited.status_code == 302 and invited["Location"] == "/portal/members"
    invitation = Invitation.objects.get(organization=org_x)
    assert (invitation.email, invitation.role, invitation.status) == (
        "Zarghuna@ngo.example.org",
        "staff",
        "pending",
    )
    page = client.get("/portal/members").content.decode()
    assert "دعوت‌نامه ارسال شد." in page and "Zarghuna@ngo.example.org" in page
    assert admin_x.email in page
    # Showing the addresses is an audited read, as GET /organizations/{id}/invitations is.
    assert AuditEvent.objects.filter(
        action="confidential.read", object_id=str(invitation.pk)
    ).exists()

    revoked = client.post(f"/portal/members/invitations/{invitation.pk}/revoke")

    assert revoked.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == "revoked"
    assert "Zarghuna@ngo.example.org" not in client.get("/portal/members").content.decode()


def test_an_invitation_the_api_would_refuse_is_refused_with_its_reasons(admin_x, org_x):
    client = signed_in(admin_x)

    bad_address = client.post("/portal/members", {"email": "not-an-address", "role": "staff"})

    assert bad_address.status_code == 422
    assert "Enter a valid email address." in bad_address.content.decode()
    org_x.status = OrganizationStatus.PENDING
    org_x.save(update_fields=["status"])
    unverified = client.post("/portal/members", {"email": "a@ngo.example.org", "role": "staff"})
    assert unverified.status_code == 422
    assert "Only a verified organization can invite members" in unverified.content.decode()
    assert not Invitation.objects.exists()


def test_an_admin_creates_an_api_key_shown_once_and_revokes_it(admin_x, org_x):
    client = signed_in(admin_x, "ps")

    created = client.post(
        "/portal/api-keys", {"name": "KoboToolbox", "scopes": ["needs:read", "needs:write"]}
    )

    assert created.status_code == 201
    assert created["Cache-Control"] == "no-store"
    api_key = ApiKey.objects.get(organization=org_x)
    assert (api_key.name, api_key.scopes) == ("KoboToolbox", ["needs:read", "needs:write"])
    body = created.content.decode()
    assert "دا کیلي همدا اوس کاپي کړئ" in body
    key = body.split('id="new-key" readonly value="')[1].split('"')[0]
    assert key.startswith(api_key.prefix)
    partner = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert partner.get("/api/v1/needs/").status_code == 200
    # Never again: the list shows the prefix only.
    assert key not in client.get("/portal/api-keys").content.decode()

    revoked = client.post(f"/portal/api-keys/{api_key.prefix}/revoke")

    assert revoked.status_code == 302
    api_key.refresh_from_db()
    assert api_key.revoked
    assert partner.get("/api/v1/needs/").status_code == 401


def test_a_key_without_scopes_is_refused_as_the_api_refuses_it(admin_x, org_x):
    client = signed_in(admin_x)

    refused = client.post("/portal/api-keys", {"name": "no scopes"})

    assert refused.status_code == 422
    assert not ApiKey.objects.filter(organization=org_x).exists()
