"""Serializer pieces every app's API uses."""

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from rest_framework import ISO_8601, serializers
from rest_framework.fields import Field, SkipField, empty
from rest_framework.relations import PKOnlyObject
from rest_framework.settings import api_settings

SLOW = object()  # "ask DRF": see plain_attribute


_NOT_MAPPINGS: set[type] = set()  # types seen not to be Mappings (an abc check is slow)


def plain_attribute(instance, path: list[str]):
    """What DRF's ``get_attribute(instance, path)`` gives, when that is a chain of plain
    ``getattr`` (objects, no value on the way callable); else ``SLOW``, telling the caller to ask
    DRF (a dict row, a method to call, an error to map to None, a default, a skip or a message)."""
    value = instance
    for name in path:
        kind = type(value)
        if kind not in _NOT_MAPPINGS:
            if isinstance(value, Mapping):
                return SLOW
            _NOT_MAPPINGS.add(kind)
        try:
            value = getattr(value, name)
        except Exception:
            return SLOW
        if callable(value):
            return SLOW
    return value


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean, ``true`` or ``false``: not ``"yes"``, ``"true"``, ``1`` or ``"on"``.
    Every boolean the API reads from a body is one of these (StrictModelSerializer maps model
    booleans to it; tests/apps/core/test_strict_input.py checks every serializer)."""

    default_error_messages = {"invalid": gettext_lazy("Must be a JSON boolean: true or false.")}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid")


class QueryBooleanField(serializers.BooleanField):
    """A boolean in a query string: exactly ``true`` or ``false``."""

    default_error_messages = {"invalid": gettext_lazy('Must be "true" or "false".')}
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
                errors[name] = [
                    gettext("This field is read-only.")
                    if name in fields
                    else gettext("Unknown field.")
                ]
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
    built once and its ``to_representation`` reused for every row of its kind. The output is
    what ``Serializer(row, context=context).data`` gives, row by row.

    Without a ``context``, the serializers are built once per process and shared by every
    request: only for serializers that read nothing of the request (no ``self.context``, no
    ``self.instance``), as ``to_representation`` then keeps no state between rows.
    """

    _shared: ClassVar[dict] = {}

    def __init__(self, classes: dict, context: dict | None = None):
        self._classes = classes
        self._context = context
        self._built: dict = self._shared if context is None else {}

    def __call__(self, key, instance) -> dict:
        cls = self._classes[key]
        serializer = self._built.get(cls)
        if serializer is None:
            serializer = self._built[cls] = cls(context=self._context or {})
        return serializer.to_representation(instance)

    def many(self, keyed_rows) -> list[dict]:
        """``[(key, instance), …]`` → their representations, in order."""
        return [self(key, instance) for key, instance in keyed_rows]


_idle = threading.local()  # per thread: {serializer class: one built, not in use}


def represent(cls, instance, context: Mapping | None = None) -> dict:
    """``cls(instance, context=context).data`` for an output serializer, from one built once
    per class and thread and given this call's context.

    Building a serializer (DRF deep-copies its declared fields and a ModelSerializer
    introspects its model, every time) costs more than serializing one object with it: a
    pledge POST serialized the pledge twice (the answer, the event's payload) and spent a
    sixth of its CPU building the two. A field reads the context from its root serializer
    at each call (``Field.context``), so a field that shows itself to the creator only, or a
    name to one viewer only, still decides per call. A serializer in use (a nested call for
    the same class) is never lent twice: the inner call builds its own."""
    idle = _idle.__dict__.setdefault("serializers", {})
    serializer = idle.pop(cls, None)
    if serializer is None:
        serializer = cls()
    serializer._context = dict(context or {})
    try:
        return serializer.to_representation(instance)
    finally:
        serializer._context = {}
        idle[cls] = serializer


class LeanOutputMixin:
    """``to_representation`` without DRF's generic lookups, for serializers used for many rows
    (``SerializerPerRow``, ``many=True``, nested serializers).

    DRF walks the serializer's fields anew for each row and reads each value through
    ``Field.get_attribute`` (a Mapping check, a callable check that inspects signatures, the
    mapping of errors), which costs more than writing the value out. Here the readable fields
    are listed once, and a field that keeps ``Field.get_attribute`` is read with plain
    ``getattr`` along its source; everything else (callables, dict rows, missing attributes,
    fields with their own ``get_attribute``: money, methods, relations, nested serializers) is
    read by DRF as before, so the output is the same.
    """

    def _output_plan(self) -> list:
        plan = self.__dict__.get("_lean_plan")
        if plan is None:
            plan = self.__dict__["_lean_plan"] = [
                (
                    field.field_name,
                    field.source_attrs
                    if type(field).get_attribute is Field.get_attribute and field.source_attrs
                    else None,
                    field,
                )
                for field in self._readable_fields
            ]
        return plan

    def to_representation(self, instance):
        ret = {}
        for name, path, field in self._output_plan():
            value = SLOW if path is None else plain_attribute(instance, path)
            if value is SLOW:
                try:
                    value = field.get_attribute(instance)
                except SkipField:
                    continue
                if (value.pk if isinstance(value, PKOnlyObject) else value) is None:
                    ret[name] = None
                    continue
            elif value is None:
                ret[name] = None
                continue
            ret[name] = field.to_representation(value)
        return ret


_PREFETCHED = "_prefetched_list_of_"


def set_prefetched_list(instance, relation: str, rows: list) -> None:
    """Give ``instance`` the rows of a to-many relation, loaded some other way (one column of
    the main query, say), for ``PrefetchedListSerializer``: Django's prefetch cache would build
    a related manager and a filtered queryset for every row just to hold its list."""
    setattr(instance, _PREFETCHED + relation, rows)


class PrefetchedListSerializer(serializers.ListSerializer):
    """A to-many relation read from the list given by ``set_prefetched_list``, or else as DRF
    reads it (through the related manager). For ``Meta.list_serializer_class``."""

    def get_attribute(self, instance):
        rows = getattr(instance, _PREFETCHED + self.source, None)
        return rows if rows is not None else super().get_attribute(instance)


class CalledCharField(serializers.CharField):
    """A string from a method of the object (``source="public_name"``) on output, called
    directly: DRF would inspect the method's signature on every row."""

    def get_attribute(self, instance):
        return getattr(instance, self.source)()


_UTC_ZONE = ZoneInfo("UTC")  # ZoneInfo keeps one instance per key


class DateTimeOutField(serializers.DateTimeField):
    """DRF's DateTimeField with a shortcut on output for the usual value, aware and in UTC, shown
    in ISO 8601 while UTC is the current time zone: DRF converts every value into the current
    time zone first (a new datetime, and checks), which costs more than writing it out. The text
    is the same ("2026-11-01T08:00:00Z", microseconds when there are some)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._iso_in_current_zone = (
            not hasattr(self, "timezone")
            and str(getattr(self, "format", api_settings.DATETIME_FORMAT)).lower() == ISO_8601
        )

    def to_representation(self, value):
        if (
            self._iso_in_current_zone
            and type(value) is datetime
            and value.tzinfo is UTC
            and timezone.get_current_timezone() is _UTC_ZONE
        ):
            return value.isoformat()[:-6] + "Z"  # "+00:00" → "Z", as DRF writes it
        return super().to_representation(value)
