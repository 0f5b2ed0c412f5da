from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin
from apps.pledges.models import Pledge


@admin.register(Pledge)
class PledgeAdmin(ReadOnlyAdmin):
    list_display = ("id", "amount", "currency", "status", "proposed_amount", "committed_amount")
    list_filter = ("status", "currency")
    readonly_fields = [f.name for f in Pledge._meta.fields]
