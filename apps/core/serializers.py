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


class SerializerPerRow:
    """A list whose rows are serialized by one of a few serializers, the one for each row named
    by a key (the caller's level of detail, say).

    DRF builds a serializer's fields anew for each instance (a ModelSerializer introspects its
    model every time), which costs several times the serializing itself; here each serializer is
    built once per list and its ``to_representation`` reused for every row of its kind. The
    output is what ``Serializer(row, context=context).data`` gives, row by row.
    """

    def __init__(self, classes: dict, context: dict | None = None):
        self._classes = classes
        self._context = context if context is not None else {}
        self._built: dict = {}

    def __call__(self, key, instance) -> dict:
        serializer = self._built.get(key)
        if serializer is None:
            serializer = self._built[key] = self._classes[key](context=self._context)
        return serializer.to_representation(instance)

    def many(self, keyed_rows) -> list[dict]:
        """``[(key, instance), …]`` → their representations, in order."""
        return [self(key, instance) for key, instance in keyed_rows]
