import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone

from aidmatch.access import PlatformRole


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields):
        if not email:
            raise ValueError("An email is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        fields.setdefault("platform_role", PlatformRole.PLATFORM_ADMIN)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address.

    Platform roles are an explicit field rather than Django groups: one role per person,
    queryable, visible in the API and admin, and checked in one place (``aidmatch.access``).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    platform_role = models.CharField(
        max_length=20,
        choices=[(r.value, r.name.replace("_", " ").title()) for r in PlatformRole],
        default=PlatformRole.NONE,
        blank=True,
    )
    # The language of the portal and of the emails sent to this person ("" = not chosen: the
    # browser's, or English for emails). The API answers in the request's Accept-Language.
    language = models.CharField(
        max_length=8,
        blank=True,
        default="",
        choices=[("", "—"), ("en", "English"), ("fa", "دری"), ("ps", "پښتو")],
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May use the Django admin.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(platform_role__in=[r.value for r in PlatformRole]),
                name="user_platform_role_valid",
            )
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_verifier(self) -> bool:
        return self.platform_role in (PlatformRole.VERIFIER, PlatformRole.PLATFORM_ADMIN)
