from rest_framework import serializers

from apps.audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "occurred_at",
            "actor",
            "actor_label",
            "via",
            "action",
            "object_type",
            "object_id",
            "before",
            "after",
            "detail",
            "request_id",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields
