from django.contrib import admin

from apps.notices.models import Notice


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ["kind", "object_id", "created_at"]
    list_filter = ["kind"]
    search_fields = ["object_id"]
    readonly_fields = ["kind", "object_id", "event_uid", "created_at"]
