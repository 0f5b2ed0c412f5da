"""Joining an organization by invitation: an admin of a verified organization invites an email
address; the answer never tells whether the address has an account (or whose it is, or whether
it is already a member); the token goes by email only; the invitee accepts while signed in."""

import hashlib
import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from aidmatch.access import MemberRole
from apps.audit.models import AuditEvent
from apps.organizations.invitations import MAX_PENDING
from apps.organizations.models import Invitation, Membership
from tests.conftest import client_for
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db

INVITATION_KEYS = {"id", "email", "role", "status", "expires_at", "created_at"}


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """Run what a request leaves for after its commit (the invitation email)."""

    def run(call):
        with django_capture_on_commit_callbacks(execute=True):
            return call()

    return run


def _invite(client, org, email, role="staff", **extra):
    return client.post(
        f"/api/v1/organizations/{org.pk}/invitations/",
        {"email": email, "role": role},
        format="json",
        **extra,
    )


def _token_in(message) -> str:
    return re.search(r'"token": "(inv_[^"]+)"', message.body).group(1)


def _invite_and_get_token(client, org, email, sent, role="staff"):
    mail.outbox.clear()
    response = sent(lambda: _invite(client, org, email, role))
    assert response.status_code == 201, response.content
    (message,) = mail.outbox
    return response.json(), _token_in(message)


def test_the_answer_is_the_same_for_an_account_a_member_and_an_unknown_address(
    org_x, admin_x, staff_x
):
    sensitive_staff = UserFactory(email="hidden.teacher@example.org", full_name="Malalai Hidden")
    MembershipFactory(
        user=sensitive_staff, organization=OrganizationFactory(sensitive=True), role="staff"
    )
    client = client_for(admin_x)

    answers = [
        _invite(client, org_x, "Hidden.Teacher@example.org"),  # an account (a sensitive org's)
        _invite(client, org_x, staff_x.email),  # already a member
        _invite(client, org_x, "nobody.here@example.org"),  # no account
    ]

    for response in answers:
        assert response.status_code == 201, response.content
        assert set(response.json()) == INVITATION_KEYS
        assert response.json()["status"] == "pending"
    assert answers[0].json()["email"] == "Hidden.Teacher@example.org"  # as typed
    raw = b"".join(r.content for r in answers).decode()
    for name in ("Malalai", "Hidden ", staff_x.full_name):
        assert name not in raw
    assert not Membership.objects.filter(user=sensitive_staff, organization=org_x).exists()


def test_the_token_goes_by_email_only_and_is_stored_as_a_digest(org_x, admin_x, sent):
    client = client_for(admin_x)

    body, token = _invite_and_get_token(client, org_x, "new.staff@example.org", sent)

    (message,) = mail.outbox
    assert message.to == ["new.staff@example.org"]
    invitation = Invitation.objects.get(pk=body["id"])
    assert invitation.digest == hashlib.sha256(token.encode()).hexdigest()
    listing = client.get(f"/api/v1/organizations/{org_x.pk}/invitations")
    assert listing.status_code == 200
    assert [i["id"] for i in listing.json()["results"]] == [body["id"]]
    assert token not in json.dumps(body) and token not in listing.content.decode()
    events = AuditEvent.objects.filter(object_type="invitation")
    assert token not in json.dumps([e.hashed_fields() for e in events])
    assert invitation.digest not in json.dumps([e.hashed_fields() for e in events])


@pytest.mark.parametrize("status", ["pending", "screening", "suspended", "rejected"])
def test_an_organization_that_is_not_verified_cannot_invite(status, org_x, admin_x, sent):
    org_x.status = status
    org_x.save(update_fields=["status"])

    response = sent(lambda: _invite(client_for(admin_x), org_x, "someone@example.org"))

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert "verified" in response.json()["detail"]
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_only_admins_invite_and_outsiders_see_nothing(org_x, staff_x, admin_y, verifier_client):
    assert _invite(client_for(staff_x), org_x, "a@example.org").status_code == 403
    assert _invite(verifier_client, org_x, "a@example.org").status_code == 403
    assert _invite(client_for(admin_y), org_x, "a@example.org").status_code == 404
    listing = client_for(staff_x).get(f"/api/v1/organizations/{org_x.pk}/invitations")
    assert listing.status_code == 403
    assert not Invitation.objects.exists()


def test_accepting_makes_a_membership_with_the_role(org_x, admin_x, sent):
    admin = client_for(admin_x)
    _, token = _invite_and_get_token(admin, org_x, "New.Admin@Example.org", sent, role="admin")
    newcomer = UserFactory(email="new.admin@example.org", full_name="Nazira Newcomer")

    accepted = client_for(newcomer).post("/api/v1/invitations/accept", {"token": token})

    assert accepted.status_code == 200, accepted.content
    assert accepted.json() == {
        "organization": str(org_x.pk),
        "organization_name": org_x.name,
        "role": "admin",
    }
    assert Membership.objects.get(user=newcomer, organization=org_x).role == MemberRole.ADMIN
    members = admin.get(f"/api/v1/organizations/{org_x.pk}/members").json()
    assert {"email": "new.admin@example.org", "full_name": "Nazira Newcomer", "role": "admin"} in [
        {k: m[k] for k in ("email", "full_name", "role")} for m in members
    ]
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.accepted_by) == ("accepted", newcomer)
    again = client_for(newcomer).post("/api/v1/invitations/accept", {"token": token})
    assert again.status_code == 409  # single use


def test_another_user_cannot_accept(org_x, admin_x, sent):
    _, token = _invite_and_get_token(client_for(admin_x), org_x, "invited@example.org", sent)
    intruder = UserFactory(email="forwarded.to@example.org")

    response = client_for(intruder).post("/api/v1/invitations/accept", {"token": token})

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert not Membership.objects.filter(user=intruder).exists()
    assert Invitation.objects.get().status == "pending"
    declined = client_for(intruder).post("/api/v1/invitations/decline", {"token": token})
    assert declined.status_code == 403


def test_an_unknown_token_is_a_404_and_answering_takes_a_signed_in_person(
    org_x, admin_x, anon, api_key_x, sent
):
    _, token = _invite_and_get_token(client_for(admin_x), org_x, "invited@example.org", sent)
    person = client_for(UserFactory(email="invited@example.org"))

    assert person.post("/api/v1/invitations/accept", {"token": "inv_guess"}).status_code == 404
    assert anon.post("/api/v1/invitations/accept", {"token": token}).status_code == 401
    keyed = client_for(api_key=api_key_x)
    assert keyed.post("/api/v1/invitations/accept", {"token": token}).status_code == 403
    assert Invitation.objects.get().status == "pending"


def test_an_expired_invitation_is_refused_and_shown_expired(org_x, admin_x, sent, settings):
    settings.INVITATION_TTL_DAYS = 3
    admin = client_for(admin_x)
    body, token = _invite_and_get_token(admin, org_x, "late@example.org", sent)
    invitation = Invitation.objects.get(pk=body["id"])
    assert invitation.expires_at - invitation.created_at == pytest.approx(
        timedelta(days=3), abs=timedelta(seconds=5)
    )
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    late = UserFactory(email="late@example.org")

    response = client_for(late).post("/api/v1/invitations/accept", {"token": token})

    assert response.status_code == 409
    assert "expired" in response.json()["detail"]
    assert not Membership.objects.filter(user=late).exists()
    listing = admin.get(f"/api/v1/organizations/{org_x.pk}/invitations").json()["results"]
    assert [i["status"] for i in listing] == ["expired"]
    pending = admin.get(f"/api/v1/organizations/{org_x.pk}/invitations?status=pending").json()
    assert pending["results"] == []


def test_an_admin_revokes_a_pending_invitation(org_x, admin_x, staff_x, sent):
    admin = client_for(admin_x)
    body, token = _invite_and_get_token(admin, org_x, "revoked@example.org", sent)
    revoke = f"/api/v1/organizations/{org_x.pk}/invitations/{body['id']}/revoke"

    assert client_for(staff_x).post(revoke).status_code == 403
    revoked = admin.post(revoke)
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    assert admin.post(revoke).status_code == 200  # revoking twice changes nothing

    invitee = client_for(UserFactory(email="revoked@example.org"))
    assert invitee.post("/api/v1/invitations/accept", {"token": token}).status_code == 409
    assert not Membership.objects.filter(user__email="revoked@example.org").exists()
    assert Invitation.objects.get().status == "revoked"


def test_inviting_again_replaces_the_pending_invitation(org_x, admin_x, sent):
    admin = client_for(admin_x)
    first, old_token = _invite_and_get_token(admin, org_x, "twice@example.org", sent)
    second, new_token = _invite_and_get_token(admin, org_x, "TWICE@example.org", sent, "admin")
    invitee = client_for(UserFactory(email="twice@example.org"))

    assert Invitation.objects.get(pk=first["id"]).status == "revoked"
    assert invitee.post("/api/v1/invitations/accept", {"token": old_token}).status_code == 409
    assert invitee.post("/api/v1/invitations/accept", {"token": new_token}).status_code == 200
    assert Membership.objects.get(user=invitee.user, organization=org_x).role == "admin"
    assert Invitation.objects.get(pk=second["id"]).status == "accepted"


def test_a_member_accepting_again_is_told_only_themselves(org_x, admin_x, staff_x, sent):
    _, token = _invite_and_get_token(client_for(admin_x), org_x, staff_x.email, sent, "admin")

    response = client_for(staff_x).post("/api/v1/invitations/accept", {"token": token})

    assert response.status_code == 409
    assert "already a member" in response.json()["detail"]
    assert Membership.objects.get(user=staff_x, organization=org_x).role == "staff"
    declined = client_for(staff_x).post("/api/v1/invitations/decline", {"token": token})
    assert declined.status_code == 204
    assert Invitation.objects.get().status == "declined"


def test_the_invitee_may_decline(org_x, admin_x, sent):
    _, token = _invite_and_get_token(client_for(admin_x), org_x, "no.thanks@example.org", sent)
    invitee = client_for(UserFactory(email="no.thanks@example.org"))

    assert invitee.post("/api/v1/invitations/decline", {"token": token}).status_code == 204
    assert invitee.post("/api/v1/invitations/accept", {"token": token}).status_code == 409
    assert not Membership.objects.filter(user=invitee.user).exists()


def test_invitations_are_audited_without_the_address(org_x, admin_x, sent):
    admin = client_for(admin_x)
    body, token = _invite_and_get_token(admin, org_x, "audited@example.org", sent)
    invitee = UserFactory(email="audited@example.org")
    accepted = client_for(invitee).post("/api/v1/invitations/accept", {"token": token})
    assert accepted.status_code == 200
    other, _ = _invite_and_get_token(admin, org_x, "other@example.org", sent)
    revoke = f"/api/v1/organizations/{org_x.pk}/invitations/{other['id']}/revoke"
    assert admin.post(revoke).status_code == 200

    events = list(AuditEvent.objects.filter(action__startswith="invitation.").order_by("id"))

    assert [(e.action, e.object_id) for e in events] == [
        ("invitation.create", body["id"]),
        ("invitation.accept", body["id"]),
        ("invitation.create", other["id"]),
        ("invitation.revoke", other["id"]),
    ]
    assert events[0].actor == f"user:{admin_x.pk}"
    assert events[0].after["role"] == "staff" and events[0].after["status"] == "pending"
    assert events[1].actor == f"user:{invitee.pk}"
    assert (events[1].before, events[1].after["status"]) == ({"status": "pending"}, "accepted")
    assert (events[3].before, events[3].after["status"]) == ({"status": "pending"}, "revoked")
    # (the accepting invitee is named as the actor, as every actor is)
    recorded = json.dumps([[e.before, e.after, e.detail] for e in events])
    assert "audited@example.org" not in recorded and "other@example.org" not in recorded
    added = AuditEvent.objects.get(action="membership.add")
    assert added.detail == {"invitation": body["id"]}


def test_an_idempotency_key_makes_a_retried_invitation_one(org_x, admin_x, sent):
    admin = client_for(admin_x)

    first = sent(lambda: _invite(admin, org_x, "retry@example.org", HTTP_IDEMPOTENCY_KEY="k-1"))
    retry = sent(lambda: _invite(admin, org_x, "retry@example.org", HTTP_IDEMPOTENCY_KEY="k-1"))

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert Invitation.objects.count() == 1
    assert len(mail.outbox) == 1


def test_the_add_member_by_email_route_is_gone(org_x, admin_x):
    newcomer = UserFactory()

    response = client_for(admin_x).post(
        f"/api/v1/organizations/{org_x.pk}/members",
        {"email": newcomer.email, "role": "staff"},
        format="json",
    )

    assert response.status_code == 405
    assert not Membership.objects.filter(user=newcomer).exists()


def _pending(org, count, *, start=0):
    Invitation.objects.bulk_create(
        Invitation(
            organization=org,
            email=f"bulk{i}@example.org",
            role=MemberRole.STAFF,
            digest=f"{i:064d}",
            expires_at=timezone.now() + timedelta(days=7),
        )
        for i in range(start, start + count)
    )


def test_the_invitation_list_costs_the_same_queries_whatever_its_length(org_x, admin_x):
    client = client_for(admin_x)
    path = f"/api/v1/organizations/{org_x.pk}/invitations"
    _pending(org_x, 2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(path).status_code == 200
    _pending(org_x, 30, start=2)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(path).json()["results"]) == 32

    assert len(many.captured_queries) == len(few.captured_queries)


def test_an_organization_cannot_be_turned_into_a_mailer(org_x, admin_x, sent):
    _pending(org_x, MAX_PENDING)

    refused = sent(lambda: _invite(client_for(admin_x), org_x, "one.more@example.org"))

    assert refused.status_code == 422
    assert mail.outbox == []
    assert Invitation.objects.filter(organization=org_x).count() == MAX_PENDING
