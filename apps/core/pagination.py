from datetime import UTC, date, datetime

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.functions import Coalesce
from django.utils.translation import gettext
from rest_framework import pagination, serializers

# Where a missing value sorts (last when ascending), so a cursor can point past it.
_LAST = [
    (models.DateTimeField, datetime(9999, 12, 31, tzinfo=UTC)),
    (models.DateField, date(9999, 12, 31)),
]
_SUFFIX = "_or_last"


def _nullable_sort_value(model, name: str):
    """The stand-in value for NULLs of a nullable date or time column, else None."""
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if not getattr(field, "null", False):
        return None
    for kind, value in _LAST:
        if isinstance(field, kind):
            return field, value
    return None


class CursorPagination(pagination.CursorPagination):
    """Stable cursor pages: newest first unless the caller orders otherwise.

    Two additions to DRF's cursor: the primary key breaks ties, so rows that share the ordered
    value keep one order between pages (none skipped or repeated); and a nullable date column
    is ordered through a stand-in for NULL, so the cursor can always name a position.
    """

    ordering = "-created_at"
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        """``page_size`` is a whole number from 1 to ``max_page_size``; anything else is a 400
        (not silently the default, nor cut down to the maximum)."""
        name = self.page_size_query_param
        if name not in request.query_params:
            return self.page_size
        value = request.query_params[name]
        if not (value.isascii() and value.isdigit() and 1 <= int(value) <= self.max_page_size):
            raise serializers.ValidationError(
                {
                    name: [
                        gettext("Must be a whole number from 1 to %(most)s.")
                        % {"most": self.max_page_size}
                    ]
                }
            )
        return int(value)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                }
        return parameters

    def _requested_ordering(self, request, queryset, view) -> tuple[str, ...]:
        return tuple(super().get_ordering(request, queryset, view))

    def get_ordering(self, request, queryset, view):
        ordering = []
        for term in self._requested_ordering(request, queryset, view):
            name = term.lstrip("-")
            if _nullable_sort_value(queryset.model, name):
                term = term.replace(name, name + _SUFFIX)
            ordering.append(term)
        if ordering[-1].lstrip("-") not in ("pk", "id"):
            ordering.append("-pk" if ordering[0].startswith("-") else "pk")
        return tuple(ordering)

    def paginate_queryset(self, queryset, request, view=None):
        for term in self._requested_ordering(request, queryset, view):
            name = term.lstrip("-")
            stand_in = _nullable_sort_value(queryset.model, name)
            if stand_in:
                field, value = stand_in
                last = models.Value(value, output_field=type(field)())
                queryset = queryset.annotate(**{name + _SUFFIX: Coalesce(name, last)})
        return super().paginate_queryset(queryset, request, view)
