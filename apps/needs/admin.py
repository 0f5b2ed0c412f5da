from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin
from apps.core.fields import is_confidential_field
from apps.core.partner import is_creator_only_field
from apps.needs.models import Need


@admin.register(Need)
class NeedAdmin(ReadOnlyAdmin):
    """Without the exact location: it is read through the API, where each read is audited."""

    list_display = ("title", "organization", "sector", "province", "amount", "currency", "status")
    list_filter = ("status", "sector", "urgency")
    search_fields = ("title",)
    exclude = [
        f.name
        for f in Need._meta.concrete_fields
        if is_confidential_field(f) or is_creator_only_field(f)  # the organization's own too
    ]
    readonly_fields = [
        f.name
        for f in Need._meta.fields
        if not (is_confidential_field(f) or is_creator_only_field(f))
    ]
