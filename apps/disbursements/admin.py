from django.contrib import admin

from apps.disbursements.models import Disbursement, DisbursementLine


class LineInline(admin.TabularInline):
    model = DisbursementLine
    extra = 0
    readonly_fields = ("allocation", "amount", "need_amount")
    can_delete = False


@admin.register(Disbursement)
class DisbursementAdmin(admin.ModelAdmin):
    list_display = ("id", "organization", "amount", "currency", "channel", "status", "sent_at")
    list_filter = ("status", "channel")
    inlines = [LineInline]
    readonly_fields = [f.name for f in Disbursement._meta.fields]

    def has_add_permission(self, request):
        return False
