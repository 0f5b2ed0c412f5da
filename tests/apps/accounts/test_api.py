"""Registration, bearer tokens and revocation."""

import pytest
from django.test import Client

from apps.accounts.models import User
from apps.audit.models import AuditEvent
from tests.conftest import client_for
from tests.factories.accounts import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_register_then_sign_in_with_a_bearer_token(anon):
    registered = anon.post(
        "/api/v1/auth/register",
        {"email": "Layla@Example.org", "password": "a-long-Passphrase-7", "full_name": "Layla"},
        format="json",
    )
    assert registered.status_code == 201, registered.content
    assert registered.json()["email"] == "layla@example.org"
    assert "password" not in registered.json()

    token = anon.post(
        "/api/v1/auth/token",
        {"email": "layla@example.org", "password": "a-long-Passphrase-7"},
        format="json",
    )
    assert token.status_code == 201
    assert token.json()["expires_at"]

    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['token']}")
    me = anon.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["email"] == "layla@example.org"


@pytest.mark.parametrize("password", ["short", "password123", "12345678901"])
def test_weak_passwords_are_refused_by_djangos_validators(anon, password):
    response = anon.post(
        "/api/v1/auth/register", {"email": "weak@example.org", "password": password}, format="json"
    )

    assert response.status_code == 422
    assert response.json()["errors"]["password"]
    assert not User.objects.filter(email="weak@example.org").exists()


def test_a_second_account_with_the_same_email_is_refused(anon):
    UserFactory(email="taken@example.org")

    response = anon.post(
        "/api/v1/auth/register",
        {"email": "TAKEN@example.org", "password": "a-long-Passphrase-7"},
        format="json",
    )

    assert response.status_code == 422
    assert User.objects.filter(email="taken@example.org").count() == 1


def test_wrong_password_is_401_problem(anon):
    UserFactory(email="someone@example.org")

    response = anon.post(
        "/api/v1/auth/token", {"email": "someone@example.org", "password": "nope"}, format="json"
    )

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_credentials"


def test_a_revoked_token_no_longer_works(anon):
    user = UserFactory()
    client = client_for(user)
    assert client.get("/api/v1/auth/me").status_code == 200

    assert client.post("/api/v1/auth/token/revoke").status_code == 204

    assert client.get("/api/v1/auth/me").status_code == 401


def test_revoke_all_ends_every_session(anon):
    user = UserFactory()
    first, second = client_for(user), client_for(user)

    first.post("/api/v1/auth/token/revoke?all=true")

    assert second.get("/api/v1/auth/me").status_code == 401


def test_token_login_uses_the_stored_password(anon):
    UserFactory(email="pw@example.org")

    response = anon.post(
        "/api/v1/auth/token", {"email": "pw@example.org", "password": PASSWORD}, format="json"
    )

    assert response.status_code == 201


def test_an_expired_token_is_refused_and_purged_at_the_next_sign_in(anon):
    from datetime import timedelta

    from django.utils import timezone
    from knox.models import AuthToken

    from apps.accounts.services import token_create, token_purge_expired

    user = UserFactory()
    expired, text = token_create(user=user, expiry=timedelta(hours=1))
    AuthToken.objects.filter(pk=expired.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    anon.credentials(HTTP_AUTHORIZATION=f"Bearer {text}")

    assert anon.get("/api/v1/auth/me").status_code == 401
    assert AuthToken.objects.filter(pk=expired.pk).exists()  # refused, not deleted, per request

    signed_in = anon.post(
        "/api/v1/auth/token", {"email": user.email, "password": PASSWORD}, format="json"
    )
    assert signed_in.status_code == 201
    assert not AuthToken.objects.filter(pk=expired.pk).exists()
    assert token_purge_expired() == 0


def test_a_user_reads_and_sets_the_language_of_their_emails():
    user = UserFactory()
    client = client_for(user)
    assert client.get("/api/v1/auth/me").json()["language"] == ""

    changed = client.patch("/api/v1/auth/me", {"language": "ps"}, format="json")

    assert changed.status_code == 200, changed.content
    assert changed.json()["language"] == "ps" and changed.json()["email"] == user.email
    assert client.get("/api/v1/auth/me").json()["language"] == "ps"
    user.refresh_from_db()
    assert user.language == "ps"
    event = AuditEvent.objects.get(action="user.language")
    assert str(event.object_id) == str(user.pk)

    # the same again changes nothing; "" goes back to not chosen; no field, no change
    assert client.patch("/api/v1/auth/me", {"language": "ps"}, format="json").status_code == 200
    assert AuditEvent.objects.filter(action="user.language").count() == 1
    assert client.patch("/api/v1/auth/me", {"language": ""}, format="json").json()["language"] == ""
    assert client.patch("/api/v1/auth/me", {}, format="json").json()["language"] == ""


@pytest.mark.parametrize(
    "body",
    [{"language": "de"}, {"language": "fa-AF"}, {"language": None}, {"email": "x@example.org"}],
    ids=["unknown", "not-a-code-of-LANGUAGES", "null", "other-field"],
)
def test_a_language_not_offered_is_a_400_problem(body):
    user = UserFactory(language="fa")
    client = client_for(user)

    response = client.patch("/api/v1/auth/me", body, format="json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    field = next(iter(body))
    assert field in response.json()["errors"]
    user.refresh_from_db()
    assert (user.language, user.email) == ("fa", user.email)


def test_an_api_key_or_nobody_cannot_set_a_language(anon, api_key_x):
    assert anon.patch("/api/v1/auth/me", {"language": "fa"}, format="json").status_code == 401
    keyed = client_for(api_key=api_key_x)
    assert keyed.patch("/api/v1/auth/me", {"language": "fa"}, format="json").status_code == 403


def test_a_signed_in_browser_session_reads_me():
    # Session authentication (the portal's, or the browsable API's) hands the view Django's lazy
    # user wrapper; reading "me" through it once answered 500.
    user = UserFactory()
    browser = Client()
    browser.force_login(user)

    me = browser.get("/api/v1/auth/me")

    assert me.status_code == 200, me.content
    assert me.json()["email"] == user.email
