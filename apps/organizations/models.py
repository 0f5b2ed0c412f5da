import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager

from aidmatch.access import MemberRole
from aidmatch.lifecycle import InvitationStatus
from apps.core.dates import DEFAULT_TIME_ZONE, validate_time_zone
from apps.core.fields import EncryptedJSONField, EncryptedTextField, FernetBlobField


class OrganizationKind(models.TextChoices):
    NGO = "ngo", gettext_lazy("NGO")
    COMMUNITY_GROUP = "community_group", gettext_lazy("Community group")
    WOMEN_LED = "women_led", gettext_lazy("Women-led organization")
    SCHOOL_NETWORK = "school_network", gettext_lazy("School network")
    FOOD_DISTRIBUTOR = "food_distributor", gettext_lazy("Food distributor")
    DONOR_INSTITUTION = "donor_institution", gettext_lazy("Donor institution")


class OrganizationStatus(models.TextChoices):
    PENDING = "pending", gettext_lazy("Pending")
    SCREENING = "screening", gettext_lazy("Screening")
    VERIFIED = "verified", gettext_lazy("Verified")
    REJECTED = "rejected", gettext_lazy("Rejected")
    SUSPENDED = "suspended", gettext_lazy("Suspended")


def _pseudonym() -> str:
    return f"Partner {secrets.token_hex(5).upper()}"  # 40 bits: collisions stay negligible


class Organization(models.Model):
    """An Afghan-led group (or a donor institution) that uses AidMatch.

    Contacts and principals are confidential: encrypted at rest, shown only to the
    organization's own members and to verifiers. A ``sensitive`` organization is known to
    everyone else by its pseudonym.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    pseudonym = models.CharField(max_length=40, default=_pseudonym, unique=True)
    kind = models.CharField(max_length=30, choices=OrganizationKind.choices)
    afghan_led = models.BooleanField()
    sensitive = models.BooleanField(
        default=False, help_text="Hide the name behind a pseudonym outside the organization."
    )
    aliases = models.JSONField(
        default=list,
        blank=True,
        help_text="Other names the organization goes by (a list of strings), each screened "
        "against the sanctions lists. Shown only to those who see its real name.",
    )
    registration_number = models.CharField(max_length=100, blank=True)
    registry = models.CharField(max_length=200, blank=True, help_text="e.g. Ministry of Economy")
    iati_org_id = models.CharField(max_length=100, blank=True)
    publish_open_data = models.BooleanField(
        default=False,
        help_text="Publish this organization's needs and funding as open data (IATI, HXL, "
        "flows). Off by default; a sensitive organization is published under its pseudonym.",
    )
    province = models.ForeignKey(
        "reference.Province", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    time_zone = models.CharField(
        max_length=64,
        default=DEFAULT_TIME_ZONE,
        validators=[validate_time_zone],
        help_text="IANA name: the day in which its date-only fields (receipts, reports, "
        "deadlines) are judged",
    )
    status = models.CharField(
        max_length=20, choices=OrganizationStatus.choices, default=OrganizationStatus.PENDING
    )
    # Confidential (encrypted at rest).
    contact_name = EncryptedTextField(blank=True, default="")
    contact_email = EncryptedTextField(blank=True, default="")
    contact_phone = EncryptedTextField(blank=True, default="")
    address = EncryptedTextField(blank=True, default="")
    principals = EncryptedJSONField(
        default=list, blank=True, help_text="Director and board: [{name, role}]"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=OrganizationStatus.values),
                name="organization_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=OrganizationKind.values), name="organization_kind_valid"
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"])]

    def __str__(self) -> str:
        return self.name

    def public_name(self) -> str:
        return self.pseudonym if self.sensitive else self.name

    def public_aliases(self) -> list[str]:
        """The declared aliases for those outside: none for a sensitive organization (they
        would reveal the name its pseudonym hides)."""
        return [] if self.sensitive else list(self.aliases or [])


class VettingDecision(models.Model):
    """A verifier's decision on an organization, with its reason (append-only history)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="vetting_decisions"
    )
    action = models.CharField(max_length=20)
    from_status = models.CharField(max_length=20)
    to_status = models.CharField(max_length=20)
    reason = models.CharField(max_length=1000)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    released_proposals = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.action} {self.organization_id}"


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=[(r.value, r.value.title()) for r in MemberRole])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="membership_unique"),
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in MemberRole]),
                name="membership_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organization} ({self.role})"


# What an invitation's status column may hold (``expired`` is computed, never stored).
INVITATION_STORED_STATUSES = [s.value for s in InvitationStatus if s != InvitationStatus.EXPIRED]


class Invitation(models.Model):
    """An admin's invitation of an email address to join the organization with a role.

    Nothing about the invitee's account is looked up when inviting: the address gets a
    single-use token by email (only its SHA-256 ``digest`` is stored), and the person becomes a
    member only by accepting it while signed in with that address. One pending invitation per
    organization and address (case-insensitive): inviting again revokes the pending one.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(max_length=254, help_text="As the admin typed it.")
    role = models.CharField(max_length=10, choices=[(r.value, r.value.title()) for r in MemberRole])
    status = models.CharField(
        max_length=10,
        choices=[(s, s.title()) for s in INVITATION_STORED_STATUSES],
        default=InvitationStatus.PENDING.value,
    )
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the token.")
    expires_at = models.DateTimeField()
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    responded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "organization",
                Lower("email"),
                condition=models.Q(status=InvitationStatus.PENDING.value),
                name="invitation_one_pending_per_email",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=INVITATION_STORED_STATUSES),
                name="invitation_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in MemberRole]),
                name="invitation_role_valid",
            ),
        ]
        indexes = [models.Index(fields=["organization", "status", "-created_at"])]

    def __str__(self) -> str:
        return f"invitation {self.pk} to {self.organization_id} ({self.status})"

    def shown_status(self) -> str:
        """The stored status, or ``expired`` for a pending invitation past its expiry."""
        if self.status == InvitationStatus.PENDING and self.expires_at <= timezone.now():
            return InvitationStatus.EXPIRED
        return self.status


class ApiKeyManager(APIKeyManager):
    def get_usable_keys(self) -> models.QuerySet:
        """With the key's organization, read in the authentication's one statement."""
        return super().get_usable_keys().select_related("organization")


class ApiKey(AbstractAPIKey):
    """A partner app's key for one organization, with scopes. Stored as a SHA-512 digest."""

    objects = ApiKeyManager()

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    is_api_key = True

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class DocumentKind(models.TextChoices):
    REGISTRATION_CERTIFICATE = "registration_certificate", gettext_lazy("Registration Certificate")
    TAX_CERTIFICATE = "tax_certificate", gettext_lazy("Tax Certificate")
    BOARD_LIST = "board_list", gettext_lazy("Board List")
    BANK_LETTER = "bank_letter", gettext_lazy("Bank Letter")
    OTHER = "other", gettext_lazy("Other")


class OrganizationDocument(models.Model):
    """A vetting document (registration certificate etc.): confidential, encrypted at rest with
    the field keys, its SHA-256 recorded; uploaded and read by verifiers and the organization's
    admins, each download audited."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="documents"
    )
    kind = models.CharField(max_length=30, choices=DocumentKind.choices)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    blob = FernetBlobField(help_text="Fernet-encrypted content")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=DocumentKind.values), name="document_kind_valid"
            )
        ]
        indexes = [models.Index(fields=["organization", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} of {self.organization_id}"
