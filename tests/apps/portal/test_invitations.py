"""Joining an organization through the portal: the emailed link, an account created on the
page, accepting or declining with the API's services; tokens that cannot be used; another
address refused as the API refuses it; CSRF; small pages."""

import re
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from apps.accounts.models import User
from apps.organizations.models import Invitation, Membership
from tests.apps.portal.conftest import assert_small, signed_in
from tests.factories.accounts import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

INVITEE = "Zarghuna.Ahmadi@ngo.example.org"


@pytest.fixture
def invite(admin_x, django_capture_on_commit_callbacks):
    """An admin invites through the portal (in Dari); returns the emailed link's path."""

    def run(email=INVITEE, role="staff"):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            response = signed_in(admin_x, "fa").post(
                "/portal/members", {"email": email, "role": role}
            )
        assert response.status_code == 302
        (message,) = mail.outbox
        link = re.search(r"https?://[^/\s]+(/portal/invitation\?token=\S+)", message.body)
        return message, link.group(1)

    return run


def _open(client: Client, link: str):
    """The emailed link: the token is kept in the session, the address loses it."""
    landed = client.get(link)
    assert landed.status_code == 302 and landed["Location"] == "/portal/invitation"
    assert landed["Cache-Control"] == "no-store"
    return client.get("/portal/invitation")


def test_an_invitee_without_an_account_joins_in_dari(invite, org_x):
    message, link = invite(role="staff")
    assert "دعوت" in message.body and link.endswith("&lang=fa")
    client = Client()

    page = _open(client, link)

    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    text = page.content.decode()
    assert 'lang="fa"' in text and org_x.public_name() in text and "کارمند" in text
    assert INVITEE not in text and "inv_" not in text  # neither the address nor the token
    token = link.split("token=")[1].split("&")[0]
    assert token not in str(dict(client.session))  # the session keeps only its digest
    assert_small(page)
    assert 'href="/portal/register?next=/portal/invitation"' in text

    register = client.get("/portal/register?next=/portal/invitation")
    assert register.status_code == 200 and "رمز عبور" in register.content.decode()
    assert_small(register)
    weak = client.post(
        "/portal/register",
        {"email": INVITEE, "password": "12345678", "next": "/portal/invitation"},
    )
    assert weak.status_code == 422 and not User.objects.filter(email__iexact=INVITEE).exists()
    created = client.post(
        "/portal/register",
        {
            "full_name": "Zarghuna Ahmadi",
            "email": INVITEE,
            "password": PASSWORD,
            "next": "/portal/invitation",
        },
    )
    assert created.status_code == 302 and created["Location"] == "/portal/invitation"
    user = User.objects.get(email=INVITEE.lower())
    assert user.language == "fa"  # registered in Dari: their pages and emails in Dari

    page = client.get("/portal/invitation")
    assert page.status_code == 200 and user.email in page.content.decode()
    joined = client.post("/portal/invitation", {"answer": "accept"})

    assert joined.status_code == 302 and joined["Location"] == "/portal/"
    membership = Membership.objects.get(user=user)
    assert (membership.organization, membership.role) == (org_x, "staff")
    assert Invitation.objects.get().status == "accepted"
    dashboard = client.get("/portal/")
    assert dashboard.status_code == 200 and "داشبورد" in dashboard.content.decode()
    assert_small(dashboard)


def test_an_invitee_with_an_account_signs_in_from_the_invitation_and_declines(invite, org_x):
    invitee = UserFactory(email="invitee@ngo.example.org")  # a member of nothing
    _, link = invite(email="Invitee@ngo.example.org")
    client = Client()
    _open(client, link)

    sign_in = client.get("/portal/sign-in?next=/portal/invitation").content.decode()
    assert 'href="/portal/register?next=/portal/invitation"' in sign_in
    # The portal refuses non-members, except on their way to the invitation.
    refused = Client().post("/portal/sign-in", {"email": invitee.email, "password": PASSWORD})
    assert refused.status_code == 403
    signed = client.post(
        "/portal/sign-in",
        {"email": invitee.email, "password": PASSWORD, "next": "/portal/invitation"},
    )
    assert signed.status_code == 302 and signed["Location"] == "/portal/invitation"

    declined = client.post("/portal/invitation", {"answer": "decline"})

    assert declined.status_code == 200 and org_x.public_name() in declined.content.decode()
    assert Invitation.objects.get().status == "declined"
    assert not Membership.objects.filter(user=invitee).exists()
    assert client.get("/portal/invitation").status_code == 404  # the token left the session


def test_a_next_elsewhere_does_not_let_a_non_member_in(invite):
    invitee = UserFactory(email="invitee@ngo.example.org")
    _, link = invite(email=invitee.email)
    client = Client()
    _open(client, link)
    for target in ("https://evil.example/portal/invitation", "/portal/"):
        response = client.post(
            "/portal/sign-in", {"email": invitee.email, "password": PASSWORD, "next": target}
        )
        assert response.status_code == 403, target


@pytest.mark.parametrize("how", ["wrong", "expired", "revoked", "used"])
def test_a_token_that_cannot_be_used_gets_a_clear_page_and_changes_nothing(invite, org_x, how):
    invitee = UserFactory(email="invitee@ngo.example.org")
    _, link = invite(email=invitee.email)
    invitation = Invitation.objects.get()
    if how == "wrong":
        link = link.replace("token=inv_", "token=inv_x")
    elif how == "expired":
        invitation.expires_at = timezone.now() - timedelta(minutes=1)
    elif how == "revoked":
        invitation.status = "revoked"
    elif how == "used":
        invitation.status, invitation.accepted_by = "accepted", invitation.invited_by
    invitation.save()
    before = Invitation.objects.values_list("status", flat=True).get()
    client = Client()
    client.cookies["aidmatch_language"] = "fa"

    page = _open(client, link)

    assert page.status_code == (404 if how == "wrong" else 410)
    assert "این دعوت‌نامه قابل استفاده نیست" in page.content.decode()
    client.force_login(invitee)
    answered = client.post("/portal/invitation", {"answer": "accept"})
    assert answered.status_code in {404, 409}
    assert Invitation.objects.values_list("status", flat=True).get() == before
    assert not Membership.objects.filter(user=invitee).exists()


def test_a_signed_in_user_with_another_address_cannot_accept(invite, admin_y, org_x):
    _, link = invite()
    client = signed_in(admin_y, "fa")
    _open(client, link)

    refused = client.post("/portal/invitation", {"answer": "accept"})

    assert refused.status_code == 403
    assert "ایمیل" in refused.content.decode()
    assert Invitation.objects.get().status == "pending"
    assert not Membership.objects.filter(user=admin_y, organization=org_x).exists()
    # Signing out to switch accounts keeps the invitation.
    switched = client.post("/portal/invitation/switch-account")
    assert switched["Location"] == "/portal/sign-in?next=/portal/invitation"
    assert client.get("/portal/invitation").status_code == 200


def test_answers_need_the_csrf_token(invite):
    invitee = UserFactory(email="invitee@ngo.example.org")
    _, link = invite(email=invitee.email)
    client = Client(enforce_csrf_checks=True)
    _open(client, link)
    client.force_login(invitee)

    assert client.post("/portal/invitation", {"answer": "accept"}).status_code == 403
    fresh = Client(enforce_csrf_checks=True)
    assert (
        fresh.post("/portal/register", {"email": "a@b.example", "password": PASSWORD}).status_code
        == 403
    )
    assert Invitation.objects.get().status == "pending"
    assert not User.objects.filter(email="a@b.example").exists()


def test_creating_an_account_has_the_apis_throttle(monkeypatch):
    from apps.core.throttling import AuthRateThrottle

    rates = {**AuthRateThrottle.THROTTLE_RATES, "auth": "2/min"}
    monkeypatch.setattr(AuthRateThrottle, "THROTTLE_RATES", rates)
    client = Client(REMOTE_ADDR=f"fd00::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}")

    codes = [
        client.post("/portal/register", {"email": f"p{i}@ngo.example.org", "password": PASSWORD})
        for i in range(3)
    ]

    assert [c.status_code for c in codes] == [302, 302, 429]
    assert int(codes[2]["Retry-After"]) > 0
    assert not User.objects.filter(email="p2@ngo.example.org").exists()


@pytest.mark.parametrize(
    ("language", "words"),
    [("en", "open this link"), ("fa", "این لینک را باز کنید"), ("ps", "دا لینک پرانیزئ")],
)
def test_the_email_links_to_the_portal_page_in_each_language(
    admin_x, django_capture_on_commit_callbacks, settings, language, words
):
    settings.SITE_URL = "https://aidmatch.example.org"
    UserFactory(email="invitee@ngo.example.org", language=language)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in(admin_x).post(
            "/portal/members", {"email": "invitee@ngo.example.org", "role": "admin"}
        )

    (message,) = mail.outbox
    assert words in message.body
    link = re.search(
        r"https://aidmatch\.example\.org/portal/invitation\?token=inv_\S+", message.body
    )
    assert link and link.group(0).endswith(f"&lang={language}")
    assert '"token": "inv_' in message.body  # and the API's way, for integrations
