import django_filters

from apps.audit.models import AuditEvent


class AuditEventFilterSet(django_filters.FilterSet):
    actor = django_filters.CharFilter(help_text="e.g. user:12, key:AbC123xy, system")
    action = django_filters.CharFilter(help_text="e.g. need.approve, confidential.read")
    action_prefix = django_filters.CharFilter(
        field_name="action", lookup_expr="startswith", help_text="e.g. organization."
    )
    object_type = django_filters.CharFilter(help_text="e.g. organization, need, pledge")
    object_id = django_filters.CharFilter(max_length=100)
    request_id = django_filters.CharFilter(max_length=64)
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["actor", "action", "object_type", "object_id", "request_id"]
