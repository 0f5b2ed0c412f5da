from django.contrib import admin

from apps.screening.models import SanctionsList, ScreeningHit


@admin.register(SanctionsList)
class SanctionsListAdmin(admin.ModelAdmin):
    list_display = ("source", "version", "entry_count", "active", "loaded_at")
    readonly_fields = [f.name for f in SanctionsList._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ScreeningHit)
class ScreeningHitAdmin(admin.ModelAdmin):
    list_display = ("organization", "source", "entry_ref", "matched_name", "score", "resolution")
    list_filter = ("resolution", "source")
    readonly_fields = [f.name for f in ScreeningHit._meta.fields if f.name != "subject"]
    exclude = ("subject",)
