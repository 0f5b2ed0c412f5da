from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from rest_framework.routers import SimpleRouter

UUID_LOOKUP = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
INTEGER_LOOKUP = r"[0-9]{1,18}"  # within a bigint


def lookup_pattern(field: models.Field) -> str:
    """The URL pattern of the values a lookup on ``field`` can match: anything else (``abc``
    for a UUID or a number, a string longer than the column) is not a route, so it is a 404
    before a view sees it, never a 500 from a lookup that cannot convert it."""
    if isinstance(field, models.UUIDField):
        return UUID_LOOKUP
    if isinstance(field, models.AutoField | models.IntegerField):
        return INTEGER_LOOKUP
    if isinstance(field, models.CharField) and field.max_length:
        return rf"[^/.]{{1,{field.max_length}}}"
    raise ImproperlyConfigured(f"No lookup pattern for {field!r}: set lookup_value_regex")


def _view_model(viewset):
    queryset = getattr(viewset, "queryset", None)
    if queryset is not None:
        return queryset.model
    meta = getattr(getattr(viewset, "serializer_class", None), "Meta", None)
    return getattr(meta, "model", None)


class OptionalSlashRouter(SimpleRouter):
    """Routes answer with or without a trailing slash: no redirects, which drop POST bodies.

    A detail route's id matches only values of the type of the looked-up column (see
    ``lookup_pattern``), so every malformed id is a 404. The column comes from the viewset's
    ``queryset`` or ``serializer_class``; a viewset with neither sets ``lookup_value_regex``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        value = getattr(viewset, "lookup_value_regex", None) or self._lookup_value(viewset)
        lookup_field = getattr(viewset, "lookup_field", "pk")
        return self._base_pattern.format(
            lookup_prefix=lookup_prefix,
            lookup_url_kwarg=getattr(viewset, "lookup_url_kwarg", None) or lookup_field,
            lookup_value=value,
        )

    @staticmethod
    def _lookup_value(viewset) -> str:
        model = _view_model(viewset)
        if model is None:
            raise ImproperlyConfigured(
                f"{viewset.__name__}: set queryset, serializer_class or lookup_value_regex"
            )
        name = getattr(viewset, "lookup_field", "pk")
        try:
            field = model._meta.pk if name == "pk" else model._meta.get_field(name)
        except FieldDoesNotExist as exc:
            raise ImproperlyConfigured(f"{viewset.__name__}: {exc}") from exc
        return lookup_pattern(field)
