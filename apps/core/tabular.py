"""CSV (and HXL) for list endpoints, from the very code that answers JSON.

A view with ``TabularListMixin`` answers ``Accept: text/csv`` or ``?format=csv`` on its list
actions (``tabular_actions``, ``("list",)`` unless it says otherwise) with every row the JSON list
would page through: the mixin calls the view's own handler page after page (cursor pages of
``TABULAR_PAGE_SIZE`` rows, or the view's ``tabular_page_size``: a size only this mode may use),
so each row is what JSON shows the caller (its level of detail, its audited confidential
reads), with the same filters, ordering and visibility, and no list keeps a second copy of its
rules. The first page runs before the
response starts: an error (a bad filter, 401, 403) is a problem+json with its status, never a
partial file. A view that declares ``hxl_tags`` (column → HXL hashtag) also answers
``?format=hxl``: the same CSV with the hashtag row under the header.

Columns come from the view's serializer (``tabular_serializers[action]``, else
``get_serializer_class()``): every readable field, a nested object flattened as
``parent.child``; a list of scalars is joined with "; ", anything else is JSON. The header is
the same whatever the rows (and present with none); a field the caller's level does not show is
an empty cell. A text cell that a spreadsheet would read as a formula gets a leading ``'``.
"""

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from operator import itemgetter
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from rest_framework import pagination, renderers, serializers
from rest_framework.response import Response
from rest_framework.viewsets import ViewSetMixin

TABULAR_PAGE_SIZE = 1000
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
_ROWS_PER_CHUNK = 500
_FORMULA_FIRST = frozenset(("=", "+", "-", "@", "\t", "\r"))
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class CSVRenderer(renderers.BaseRenderer):
    """For content negotiation only: a tabular view streams its own response. Whatever else
    is rendered through it (a problem raised before the stream starts) is JSON."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return renderers.JSONRenderer().render(data)


class HXLRenderer(CSVRenderer):
    format = "hxl"


def tabular_format(request) -> str | None:
    """ "csv" or "hxl" when content negotiation chose one of them, else None."""
    renderer = getattr(request, "accepted_renderer", None)
    return renderer.format if isinstance(renderer, CSVRenderer) else None


# --- cells and columns ------------------------------------------------------------------------


def safe_text(text: str) -> str:
    """Text a spreadsheet will not run: a leading ``'`` before a formula's first character
    (a number such as -12.50 stays a number)."""
    if text[:1] in _FORMULA_FIRST and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def _scalar(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def cell(value) -> str:
    """One CSV cell from a JSON value."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal):
        return _scalar(value)
    if isinstance(value, list | tuple):
        if all(v is None or not isinstance(v, dict | list | tuple) for v in value):
            return safe_text("; ".join(_scalar(v) for v in value))
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    if isinstance(value, dict):
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    return safe_text(str(value))


def columns_of(serializer, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The readable fields of a serializer (class or instance) as paths, nested objects
    flattened (``organization.name``); a list of objects stays one column."""
    if isinstance(serializer, type):
        serializer = serializer()
    columns = []
    for name, field in serializer.fields.items():
        if field.write_only:
            continue
        path = (*prefix, name)
        if isinstance(field, serializers.Serializer):
            columns.extend(columns_of(field, path))
        else:
            columns.append(path)
    return columns


def _value_at(row: dict, path: tuple[str, ...]):
    value = row
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def header_of(columns: list[tuple[str, ...]]) -> list[str]:
    return [".".join(path) for path in columns]


def hxl_row(header: list[str], tags: dict[str, str]) -> list[str]:
    return [tags.get(name, "") for name in header]


def csv_chunks(
    header: list[str], tags: list[str] | None, rows: Iterable[list[str]]
) -> Iterator[bytes]:
    """The CSV text in chunks of rows: the header, the HXL hashtags if any, then the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    if tags is not None:
        writer.writerow(tags)
    for count, row in enumerate(rows, 1):
        writer.writerow(row)
        if count % _ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def csv_response(
    name: str, header: list[str], tags: list[str] | None, rows: Iterable[list[str]]
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_chunks(header, tags, rows), content_type=CSV_CONTENT_TYPE)
    filename = f"{name}-hxl.csv" if tags is not None else f"{name}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def row_cells(columns: list[tuple[str, ...]], row: dict) -> list[str]:
    """One row's cells (``cell`` of each column's value)."""
    return _cells(
        [row.get(path[0]) if len(path) == 1 else _value_at(row, path) for path in columns]
    )


def _cells(values) -> list[str]:
    """``cell`` of each value, the common cases inline: this runs once per cell of an export."""
    out = []
    append = out.append
    for value in values:
        kind = type(value)
        if kind is str:
            if value[:1] in _FORMULA_FIRST and not _NUMBER.fullmatch(value):
                value = "'" + value
            append(value)
        elif value is None:
            append("")
        elif kind is int:
            append(str(value))
        elif kind is bool:
            append("true" if value else "false")
        elif kind is list and all(type(v) is int for v in value):
            append(safe_text("; ".join(map(str, value))))  # as ``cell`` writes a list of numbers
        else:
            append(cell(value))
    return out


def row_reader(columns: list[tuple[str, ...]]):
    """``row_cells`` for these columns; when none is nested, the values are read with one
    ``itemgetter`` (a row lacking a column falls back to ``row_cells``: an empty cell)."""
    if len(columns) < 2 or any(len(path) != 1 for path in columns):
        return lambda row: row_cells(columns, row)
    values = itemgetter(*(path[0] for path in columns))

    def read(row: dict) -> list[str]:
        try:
            return _cells(values(row))
        except KeyError:
            return row_cells(columns, row)

    return read


# --- the mixin ----------------------------------------------------------------------------------


class _Query:
    """What DRF's cursor decoding reads of a request: the cursor the export is at."""

    def __init__(self, params: dict):
        self.query_params = params


class _TabularPages:
    """Mixed over a view's cursor pagination: the export's page size and its own cursor."""

    token: str | None = None
    size: int | None = None  # the view's ``tabular_page_size``, else TABULAR_PAGE_SIZE

    def get_page_size(self, request):
        return self.size or TABULAR_PAGE_SIZE

    def decode_cursor(self, request):
        if self.token is None:
            return None
        return super().decode_cursor(_Query({self.cursor_query_param: self.token}))

    def next_token(self) -> str | None:
        if not self.has_next:
            return None
        query = parse_qs(urlsplit(self.get_next_link()).query)
        return query[self.cursor_query_param][0]


_PAGINATORS: dict[type, type] = {}


def _tabular_paginator(base: type) -> type:
    if base not in _PAGINATORS:
        _PAGINATORS[base] = type(f"Tabular{base.__name__}", (_TabularPages, base), {})
    return _PAGINATORS[base]


def _results(response) -> list:
    data = response.data
    if isinstance(data, dict) and "results" in data:
        return data["results"]
    return data


class TabularListMixin:
    """CSV (and HXL, with ``hxl_tags``) for a view's list actions: see the module's docstring."""

    tabular_actions: tuple[str, ...] = ("list",)
    tabular_serializers: dict = {}  # action → serializer class, where get_serializer_class is not
    hxl_tags: dict[str, str] = {}
    tabular_name: str | None = None  # the file's name; else the last part of the path
    # Rows per internal page; None is TABULAR_PAGE_SIZE. A view whose page costs a constant
    # number of queries and whose rows are small may raise it (fewer, larger pages).
    tabular_page_size: int | None = None

    def tabular_action(self) -> str | None:
        if isinstance(self, ViewSetMixin):
            return getattr(self, "action", None)
        request = getattr(self, "request", None)
        return "list" if request is not None and request.method in ("GET", "HEAD") else None

    def get_renderers(self):
        found = super().get_renderers()
        if self.tabular_action() in self.tabular_actions:
            found.append(CSVRenderer())
            if self.hxl_tags:
                found.append(HXLRenderer())
        return found

    @property
    def paginator(self):
        pages = getattr(self, "_tabular_pages", None)
        if pages is not None:
            return pages
        return super().paginator

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        kind = tabular_format(request)
        if kind and request.method in ("GET", "HEAD"):
            method = request.method.lower()
            handler = getattr(self, method)
            setattr(self, method, lambda request, *a, **kw: self._tabular(kind, handler, a, kw))

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and tabular_format(request):
            # Only problems get here (the export streams its own response): JSON.
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)

    def tabular_columns(self) -> list[tuple[str, ...]]:
        serializer = self.tabular_serializers.get(self.tabular_action())
        if serializer is None:
            serializer = self.get_serializer_class()
        context = {"request": self.request, "view": self}
        if hasattr(self, "get_serializer_context"):
            context = self.get_serializer_context()
        return columns_of(serializer(context=context))

    def _tabular(self, kind: str, handler, args, kwargs):
        request = self.request
        base = getattr(self, "pagination_class", None)
        pages = None
        if base is not None:
            if not issubclass(base, pagination.CursorPagination):
                raise ImproperlyConfigured(f"{type(self).__name__}: CSV walks cursor pages only.")
            pages = self._tabular_pages = _tabular_paginator(base)()
            pages.size = self.tabular_page_size
        first = handler(request, *args, **kwargs)  # errors raise here: a problem, no file
        if not (200 <= first.status_code < 300):
            return first
        columns = self.tabular_columns()
        header = header_of(columns)
        tags = hxl_row(header, self.hxl_tags) if kind == "hxl" else None

        read = row_reader(columns)

        def rows():
            response = first
            while True:
                for row in _results(response):
                    yield read(row)
                token = pages.next_token() if pages is not None else None
                if token is None:
                    return
                pages.token = token
                response = handler(request, *args, **kwargs)

        name = self.tabular_name or request.path.rstrip("/").rsplit("/", 1)[-1]
        return csv_response(name, header, tags, rows())
