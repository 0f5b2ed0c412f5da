from django.contrib import admin

from apps.core.models import IdempotencyRecord


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shows rows and changes nothing: money and state move only through the services (row
    locks, ledger postings, audit events), never through an admin form."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ("owner", "key", "method", "path", "response_status", "created_at")
    search_fields = ("owner", "key")
    readonly_fields = [f.name for f in IdempotencyRecord._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
