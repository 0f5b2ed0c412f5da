"""Writes for accounts: registration and bearer tokens."""

from datetime import datetime

from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from knox.models import AuthToken

from aidmatch.errors import RuleViolation
from apps.accounts.models import User


class InvalidCredentials(RuleViolation):
    status = 401
    code = "invalid_credentials"
    title = "Invalid credentials"


@transaction.atomic
def user_register(*, email: str, password: str, full_name: str = "") -> User:
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email=email).exists():
        raise RuleViolation(
            "An account with this email already exists.",
            errors={"email": ["An account with this email already exists."]},
        )
    candidate = User(email=email, full_name=full_name)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise RuleViolation("The password is too weak.", errors={"password": exc.messages}) from exc
    return User.objects.create_user(email=email, password=password, full_name=full_name)


def token_issue(*, email: str, password: str) -> tuple[AuthToken, str]:
    """A new bearer token for valid credentials; the token text is returned once, never stored."""
    user = authenticate(username=email.strip().lower(), password=password)
    if user is None or not user.is_active:
        raise InvalidCredentials("The email or password is wrong.")
    return token_create(user=user)


def token_create(*, user: User, expiry=None) -> tuple[AuthToken, str]:
    if expiry is None:
        return AuthToken.objects.create(user=user)
    return AuthToken.objects.create(user=user, expiry=expiry)


def token_revoke(*, token: AuthToken) -> None:
    token.delete()


def token_revoke_all(*, user: User) -> int:
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted


def token_expiry_iso(token: AuthToken) -> str | None:
    expiry: datetime | None = token.expiry
    return expiry.isoformat() if expiry else None
