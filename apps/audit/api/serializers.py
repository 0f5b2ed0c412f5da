from rest_framework import serializers

from apps.audit.models import AuditEvent
from apps.core.schema import FREE_FORM_OBJECT, documented_json


class AuditEventSerializer(serializers.ModelSerializer):
    before = documented_json(FREE_FORM_OBJECT, allow_null=True)
    after = documented_json(FREE_FORM_OBJECT, allow_null=True)
    detail = documented_json(FREE_FORM_OBJECT)

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
