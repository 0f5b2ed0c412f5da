"""Serializer pieces every app's API uses."""

from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, instead of silently dropping them."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            fields = self.fields
            errors = {}
            for name in sorted(set(data) - {n for n, f in fields.items() if not f.read_only}):
                errors[name] = ["This field is read-only." if name in fields else "Unknown field."]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    pass
