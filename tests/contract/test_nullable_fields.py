"""The schema says null wherever a response can hold null: every serializer field that reads
through a nullable column or relation (``requested_by.email`` of a run nobody requested) is
``allow_null``, which drf-spectacular documents as ``nullable``. Schemathesis finds such a field
only when the world happens to hold a null there; this finds them all."""

from django.core.exceptions import FieldDoesNotExist
from django.urls import get_resolver
from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _may_be_null(model, source: str) -> bool:
    """Whether following ``source`` from a ``model`` row can meet a NULL (a nullable column, or
    a nullable relation on the way)."""
    for part in source.split("."):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False  # a property or method: its type hint speaks for it
        if getattr(field, "null", False):
            return True
        if field.is_relation and not field.many_to_many and not field.one_to_many:
            model = field.related_model
        else:
            return False
    return False


def _our_serializers():
    assert get_resolver().url_patterns  # imports every view, so every serializer, of the API
    for cls in set(_subclasses(serializers.ModelSerializer)):
        if not cls.__module__.startswith("apps.") or not hasattr(cls, "Meta"):
            continue
        if issubclass(cls, PolymorphicProxySerializer):
            continue
        yield cls


def test_every_field_read_through_a_null_is_nullable():
    undeclared = []
    for cls in _our_serializers():
        model = cls.Meta.model
        for name, field in cls().fields.items():
            if field.write_only or field.allow_null or field.source == "*":
                continue
            if isinstance(field, serializers.SerializerMethodField | serializers.ManyRelatedField):
                continue
            if isinstance(field, serializers.ListSerializer):
                continue
            if _may_be_null(model, field.source):
                undeclared.append(f"{cls.__module__}.{cls.__name__}.{name} ({field.source})")
    assert sorted(undeclared) == [], "\n".join(sorted(undeclared))
