from django.contrib import admin

from apps.organizations.models import ApiKey, Membership, Organization


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "pseudonym", "kind", "status", "afghan_led", "sensitive", "created_at")
    list_filter = ("status", "kind", "afghan_led", "sensitive")
    search_fields = ("name", "pseudonym", "registration_number")
    readonly_fields = ("pseudonym", "created_at", "updated_at", "created_by")
    inlines = [MembershipInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "organization", "revoked", "created", "last_used_at")
    list_filter = ("revoked",)
    search_fields = ("name", "prefix", "organization__name")
    readonly_fields = ("prefix", "hashed_key", "created", "last_used_at", "created_by")
