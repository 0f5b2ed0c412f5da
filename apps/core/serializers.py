"""Serializer pieces every app's API uses."""

from django.db import models
from rest_framework import serializers
from rest_framework.fields import empty


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean, ``true`` or ``false``: not ``"yes"``, ``"true"``, ``1`` or ``"on"``.
    Every boolean the API reads from a body is one of these (StrictModelSerializer maps model
    booleans to it; tests/apps/core/test_strict_input.py checks every serializer)."""

    default_error_messages = {"invalid": "Must be a JSON boolean: true or false."}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid")


class QueryBooleanField(serializers.BooleanField):
    """A boolean in a query string: exactly ``true`` or ``false``."""

    default_error_messages = {"invalid": 'Must be "true" or "false".'}
    default_empty_html = empty  # absent from the query string: the default, not false

    def to_internal_value(self, data):
        if data in ("true", "false"):
            return data == "true"
        self.fail("invalid")


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
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.BooleanField: StrictBooleanField,
    }
