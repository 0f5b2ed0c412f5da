from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin
from apps.matching.models import Allocation, MatchRun


@admin.register(MatchRun)
class MatchRunAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "trigger", "mode", "status", "created", "released", "kept")
    list_filter = ("status", "trigger", "mode")
    readonly_fields = [f.name for f in MatchRun._meta.fields]


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdmin):
    list_display = ("id", "status", "amount", "need_amount", "proposed_at", "committed_at")
    list_filter = ("status",)
    raw_id_fields = ("pledge", "need", "match_run", "committed_by")
    readonly_fields = [f.name for f in Allocation._meta.fields]
