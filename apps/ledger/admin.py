from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin
from apps.ledger.models import Account, LedgerTransaction, Leg, ReconcileRun


class LegInline(admin.TabularInline):
    model = Leg
    fields = ("account", "amount", "currency")
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ("pk", "key", "iati_type", "description", "created_at")
    list_filter = ("iati_type",)
    search_fields = ("key", "description")
    inlines = [LegInline]


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("key", "kind", "currency", "created_at")
    list_filter = ("kind", "currency")
    search_fields = ("key",)


@admin.register(ReconcileRun)
class ReconcileRunAdmin(ReadOnlyAdmin):
    list_display = ("pk", "started_at", "finished_at", "ok")
    list_filter = ("ok",)
