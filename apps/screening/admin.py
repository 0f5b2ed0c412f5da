from django.contrib import admin

from apps.screening.models import SanctionsEntry, SanctionsList, ScreeningHit


@admin.register(SanctionsList)
class SanctionsListAdmin(admin.ModelAdmin):
    list_display = ("source", "version", "entry_count", "active", "loaded_at", "file_sha256")
    list_filter = ("source", "active")
    readonly_fields = [f.name for f in SanctionsList._meta.fields]

    def has_add_permission(self, request):
        return False  # lists are loaded with manage.py load_sanctions


@admin.register(SanctionsEntry)
class SanctionsEntryAdmin(admin.ModelAdmin):
    list_display = ("ref", "primary_name", "kind", "sanctions_list")
    list_filter = ("kind", "sanctions_list__source")
    search_fields = ("ref", "primary_name")
    list_select_related = ("sanctions_list",)
    readonly_fields = [f.name for f in SanctionsEntry._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ScreeningHit)
class ScreeningHitAdmin(admin.ModelAdmin):
    """Resolve hits through the API (clear/confirm), which moves the organization too."""

    list_display = ("organization", "source", "entry_ref", "matched_name", "score", "resolution")
    list_filter = ("resolution", "source")
    list_select_related = ("organization",)
    readonly_fields = [f.name for f in ScreeningHit._meta.fields if f.name != "subject"]
    exclude = ("subject",)

    def has_add_permission(self, request):
        return False
