"""Writes for accounts: registration and bearer tokens."""

from datetime import datetime

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as _
from knox.models import AuthToken

from aidmatch.errors import RuleViolation
from apps.accounts import login_limits
from apps.accounts.models import User
from apps.audit.services import audit_record


class InvalidCredentials(RuleViolation):
    status = 401
    code = "invalid_credentials"
    title = _("Invalid credentials")


@transaction.atomic
def user_register(*, email: str, password: str, full_name: str = "") -> User:
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email=email).exists():
        raise RuleViolation(
            _("An account with this email already exists."),
            errors={"email": [_("An account with this email already exists.")]},
        )
    candidate = User(email=email, full_name=full_name)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise RuleViolation(
            _("The password is too weak."), errors={"password": exc.messages}
        ) from exc
    user = User.objects.create_user(email=email, password=password, full_name=full_name)
    audit_record(action="user.register", obj=user, actor=user, after={"is_active": user.is_active})
    return user


@transaction.atomic
def user_set_language(*, user: User, language: str) -> User:
    """The language of the user's portal and emails ("" = not chosen); one of LANGUAGES' codes
    (the caller validated it). Setting the same language again changes nothing."""
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    if user.language != language:
        before = {"language": user.language}
        user.language = language
        user.save(update_fields=["language"])
        audit_record(
            action="user.language",
            obj=user,
            actor=user,
            before=before,
            after={"language": language},
        )
    return user


def token_issue(*, email: str, password: str) -> tuple[AuthToken, str]:
    """A new bearer token for valid credentials; the token text is returned once, never stored.

    Counted against the email's sign-in limit first (``LoginLocked`` once spent, whatever the
    password). An unknown email and a wrong password get the same answer, after the same work:
    Django's ModelBackend runs the password hasher for an unknown email too.
    """
    return token_create(user=user_authenticate(email=email, password=password))


def user_authenticate(*, email: str, password: str) -> User:
    """The user with these credentials, after the email's sign-in limit (``LoginLocked`` once
    spent, whatever the password; ``InvalidCredentials`` for a wrong one). The one sign-in rule
    of the API's token login and the portal's session sign-in."""
    login_limits.attempt(email)
    user = authenticate(username=login_limits.normalize_email(email), password=password)
    if user is None or not user.is_active:
        raise InvalidCredentials(_("The email or password is wrong."))
    login_limits.succeeded(email)
    return user


@transaction.atomic
def token_create(*, user: User, expiry=None) -> tuple[AuthToken, str]:
    token_purge_expired(user=user)
    if expiry is None:
        token, text = AuthToken.objects.create(user=user)
    else:
        token, text = AuthToken.objects.create(user=user, expiry=expiry)
    audit_record(
        action="token.create",
        obj=token,
        actor=user,
        after={"user": user.pk, "expiry": token.expiry},
    )
    return token, text


def token_purge_expired(*, user: User | None = None) -> int:
    """Delete expired bearer tokens (one user's at sign-in, everyone's periodically): the
    authentication refuses them without deleting them, to stay one statement per request."""
    expired = AuthToken.objects.filter(expiry__lt=timezone.now())
    if user is not None:
        expired = expired.filter(user=user)
    deleted = expired.delete()[0]
    return deleted


@transaction.atomic
def token_revoke(*, token: AuthToken) -> None:
    audit_record(action="token.revoke", obj=token, before={"user": token.user_id})
    token.delete()


@transaction.atomic
def token_revoke_all(*, user: User) -> int:
    digests = list(AuthToken.objects.filter(user=user).values_list("digest", flat=True))
    deleted = AuthToken.objects.filter(user=user).delete()[0]
    audit_record(
        action="token.revoke_all",
        obj=user,
        detail={"tokens": sorted(d[:16] for d in digests)},
    )
    return deleted


def token_expiry_iso(token: AuthToken) -> str | None:
    expiry: datetime | None = token.expiry
    return expiry.isoformat() if expiry else None
