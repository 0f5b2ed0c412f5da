from django.contrib import admin

from apps.audit.reads import note_confidential_read
from apps.core.admin import ReadOnlyAdmin
from apps.core.fields import is_confidential_field
from apps.organizations.models import ApiKey, Invitation, Membership, Organization


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    """Status changes go through vetting and screening (the API), never a form field here: a
    status set by hand would skip the sanctions check and leave proposals unreleased. Opening
    an organization shows its contacts and principals, so it is an audited confidential read."""

    list_display = ("name", "pseudonym", "kind", "status", "afghan_led", "sensitive", "created_at")
    list_filter = ("status", "kind", "afghan_led", "sensitive", "publish_open_data")
    search_fields = ("name", "pseudonym", "registration_number")
    readonly_fields = ("status", "pseudonym", "created_at", "updated_at", "created_by")
    inlines = [MembershipInline]

    def has_add_permission(self, request):
        return False  # organizations register through the API (screened on registration)

    def get_object(self, request, object_id, from_field=None):
        organization = super().get_object(request, object_id, from_field)
        if organization is not None:
            note_confidential_read(
                organization,
                [
                    f.name
                    for f in Organization._meta.concrete_fields
                    if is_confidential_field(f) and getattr(organization, f.name)
                ],
            )
        return organization


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "organization", "revoked", "created", "last_used_at")
    list_filter = ("revoked",)
    search_fields = ("name", "prefix", "organization__name")
    readonly_fields = ("prefix", "hashed_key", "created", "last_used_at", "created_by")


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Shown only: invitations are sent, answered and revoked through the API (the token is
    emailed once and only its digest is stored, so it is not shown here)."""

    list_display = ("organization", "email", "role", "status", "expires_at", "created_at")
    list_filter = ("status", "role")
    search_fields = ("email", "organization__name")
    exclude = ("digest",)
