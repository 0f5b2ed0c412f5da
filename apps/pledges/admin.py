from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin
from apps.core.partner import is_creator_only_field
from apps.pledges.models import Pledge


@admin.register(Pledge)
class PledgeAdmin(ReadOnlyAdmin):
    list_display = ("id", "amount", "currency", "status", "proposed_amount", "committed_amount")
    list_filter = ("status", "currency")
    # the donor's own metadata and external_reference are the donor's alone
    exclude = [f.name for f in Pledge._meta.fields if is_creator_only_field(f)]
    readonly_fields = [f.name for f in Pledge._meta.fields if not is_creator_only_field(f)]
