from django.contrib import admin

from apps.fx import services
from apps.fx.models import ExchangeRate


def _manages_rates(request) -> bool:
    user = request.user
    return bool(
        user.is_active and user.is_staff and (user.is_superuser or getattr(user, "is_verifier", 0))
    )


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    """Verifiers (and superusers) with admin access view and add snapshots; nobody changes or
    deletes one: a correction is a new snapshot with a later date or another source."""

    list_display = ("date", "base", "quote", "rate", "source", "created_by", "created_at")
    list_filter = ("source", "base", "quote", "date")
    search_fields = ("source", "base__code", "quote__code")
    date_hierarchy = "date"
    ordering = ("-date", "-id")
    fields = ("base", "quote", "rate", "date", "source", "created_by", "created_at")
    readonly_fields = ("created_by", "created_at")
    list_select_related = ("created_by",)

    def has_module_permission(self, request):
        return _manages_rates(request) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return _manages_rates(request) or super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return _manages_rates(request) or super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = services.exchange_rate_create(
            base=obj.base_id,
            quote=obj.quote_id,
            rate=obj.rate,
            date=obj.date,
            source=obj.source,
            created_by=request.user,
        )
        obj.pk, obj.created_by, obj.created_at = saved.pk, saved.created_by, saved.created_at
