from django.contrib import admin

from apps.core.partner import is_creator_only_field
from apps.disbursements.models import Disbursement, DisbursementLine, Refund


class LineInline(admin.TabularInline):
    model = DisbursementLine
    extra = 0
    readonly_fields = ("allocation", "amount", "need_amount")
    can_delete = False


class RefundInline(admin.TabularInline):
    """Refunds are recorded by the organization through the API, never here."""

    model = Refund
    extra = 0
    fields = readonly_fields = ("amount", "currency", "reason", "refund_date", "created_at")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Disbursement)
class DisbursementAdmin(admin.ModelAdmin):
    list_display = ("id", "organization", "amount", "currency", "channel", "status", "sent_at")
    list_filter = ("status", "channel")
    inlines = [LineInline, RefundInline]
    # the donor's own metadata and external_reference are the donor's alone
    exclude = [f.name for f in Disbursement._meta.fields if is_creator_only_field(f)]
    readonly_fields = [f.name for f in Disbursement._meta.fields if not is_creator_only_field(f)]

    def has_add_permission(self, request):
        return False
