"""Signing in to the portal: the API's password check and sign-in limits, with a session, for
members of an organization only; signing out; the language switch saved on the user."""

import uuid

import pytest
from django.test import Client

from apps.accounts.models import User
from tests.apps.portal.conftest import assert_small
from tests.factories import MembershipFactory, UserFactory
from tests.factories.accounts import PASSWORD

pytestmark = pytest.mark.django_db

SIGN_IN = "/portal/sign-in"


def _member(**fields):
    email = f"{uuid.uuid4().hex}@ngo.example.org"  # sign-in counters outlive the test database
    return MembershipFactory(user=UserFactory(email=email, **fields)).user


def _sign_in(client, email, password, **extra):
    return client.post(SIGN_IN, {"email": email, "password": password}, **extra)


def _signed_in_as(client) -> str | None:
    return client.session.get("_auth_user_id")


def test_the_page_asks_for_an_email_and_a_password_in_dari():
    client = Client()
    client.cookies["aidmatch_language"] = "fa"

    page = client.get(SIGN_IN)

    assert page.status_code == 200
    body = page.content.decode()
    assert '<html lang="fa" dir="rtl">' in body
    assert "ورود به پورتال ساحوی" in body and "رمز عبور" in body
    assert_small(page)


def test_a_member_signs_in_with_a_session_and_lands_on_the_dashboard():
    user = _member()
    client = Client()

    response = _sign_in(client, user.email, PASSWORD)

    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert _signed_in_as(client) == str(user.pk)
    assert client.get("/portal/").status_code == 200


def test_a_wrong_password_is_refused_and_says_so():
    user = _member()
    client = Client()
    client.cookies["aidmatch_language"] = "ps"

    response = _sign_in(client, user.email, "not-the-password")

    assert response.status_code == 200
    assert "برېښنالیک یا پټنوم ناسم دی." in response.content.decode()
    assert _signed_in_as(client) is None


def test_someone_who_is_no_organizations_member_is_refused():
    outsider = UserFactory(email=f"{uuid.uuid4().hex}@example.org")
    client = Client()

    response = _sign_in(client, outsider.email, PASSWORD)

    assert response.status_code == 403
    assert "This portal is for members of an organization." in response.content.decode()
    assert _signed_in_as(client) is None
    # Signed in elsewhere (the admin, the API's browsable pages), they may still sign in here
    # as a member: the page is shown, not sent on to a dashboard that refuses them.
    client.force_login(outsider)
    assert client.get("/portal/").status_code == 403
    assert client.get(SIGN_IN).status_code == 200
    member = _member()
    assert _sign_in(client, member.email, PASSWORD).status_code == 302
    assert _signed_in_as(client) == str(member.pk)


def test_after_the_apis_limit_of_failures_even_the_right_password_waits(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    user = _member()
    client = Client()

    failures = [_sign_in(client, user.email, "wrong").status_code for _ in range(3)]
    locked = _sign_in(client, user.email, PASSWORD)

    assert failures == [200, 200, 200]
    assert locked.status_code == 429
    assert 0 < int(locked["Retry-After"]) <= 15 * 60
    assert "Too many attempts" in locked.content.decode()
    assert _signed_in_as(client) is None
    # The count is the API's own: its token sign-in is locked too.
    api = client.post(
        "/api/v1/auth/token",
        {"email": user.email, "password": PASSWORD},
        content_type="application/json",
    )
    assert api.status_code == 429


def test_the_per_address_throttle_of_the_api_applies(monkeypatch):
    from apps.core.throttling import AuthRateThrottle

    rates = {**AuthRateThrottle.THROTTLE_RATES, "auth": "2/min"}
    monkeypatch.setattr(AuthRateThrottle, "THROTTLE_RATES", rates)
    user = _member()
    address = f"fd00::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"
    client = Client(REMOTE_ADDR=address)

    codes = [_sign_in(client, user.email, "wrong").status_code for _ in range(2)]
    third = _sign_in(client, user.email, PASSWORD)

    assert codes == [200, 200]
    assert third.status_code == 429 and int(third["Retry-After"]) > 0


def test_sign_out_ends_the_session_and_only_by_post():
    user = _member()
    client = Client()
    client.force_login(user)

    assert client.get("/portal/sign-out").status_code == 405
    response = client.post("/portal/sign-out")

    assert response.status_code == 302 and response["Location"] == "/portal/sign-in"
    assert _signed_in_as(client) is None
    assert client.get("/portal/")["Location"].startswith("/portal/sign-in?next=")


def test_the_language_switch_is_saved_on_the_user_and_used_at_the_next_sign_in():
    user = _member()
    client = Client()
    client.force_login(user)

    switched = client.post("/portal/language", {"language": "ps", "next": "/portal/"})

    assert switched.status_code == 302 and switched["Location"] == "/portal/"
    assert User.objects.get(pk=user.pk).language == "ps"
    # A new browser (no language cookie) still gets Pashto once signed in.
    fresh = Client()
    fresh.force_login(user)
    page = fresh.get("/portal/")
    assert '<html lang="ps" dir="rtl">' in page.content.decode()


def test_the_sign_in_page_is_free_of_a_redirect_to_elsewhere():
    user = _member()
    client = Client()

    response = client.post(
        SIGN_IN, {"email": user.email, "password": PASSWORD, "next": "https://evil.example/"}
    )

    assert response["Location"] == "/portal/"
