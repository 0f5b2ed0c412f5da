"""Many rows in one statement: on PostgreSQL one ``COPY … FROM STDIN`` (inserts, streamed line
by line) or one ``UPDATE … FROM unnest(…)`` per call (each column travels as one array
literal, so the statement does not grow with a parameter per value), whatever the number of
rows; elsewhere (SQLite, the embedded mode) Django's bulk_create and bulk_update.

Column names come from this package's constants, never from input.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import date, datetime
from functools import partial

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

_PLAIN = {"uuid", "numeric", "integer", "bigint", "date", "timestamptz", "boolean"}
_BARE = {"uuid", "numeric", "integer", "bigint"}  # str() is the literal


def _plain(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime | date):
        return value.isoformat()  # no space, comma, quote or brace: needs no quoting
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def _quoted(value, kind: str) -> str:
    if value is None:
        return "NULL"
    if kind == "jsonb" and not isinstance(value, str):  # a str is JSON already
        text = json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":"))
    else:
        text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def uuid4_texts(n: int) -> list[str]:
    """``n`` random (version 4) UUIDs as text, as ``str(uuid.uuid4())`` gives, from one read of
    the system's randomness (a new proposal each: 184,000 in a 100k run)."""
    raw = bytearray(os.urandom(16 * n))
    raw[6::16] = bytes(b & 0x0F | 0x40 for b in raw[6::16])  # version 4
    raw[8::16] = bytes(b & 0x3F | 0x80 for b in raw[8::16])  # RFC 4122 variant
    h = raw.hex()
    cuts = ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))
    return ["-".join([h[i + a : i + b] for a, b in cuts]) for i in range(0, 32 * n, 32)]


def array_literal(values, kind: str = "text") -> str:
    """A PostgreSQL array literal (``{"a","b",NULL}``) of ``values``, for ``%s::kind[]``."""
    if kind in _PLAIN:
        if kind in _BARE and None not in values:  # the common case, without a call per value
            return "{" + ",".join(map(str, values)) + "}"
        return "{" + ",".join(map(_plain, values)) + "}"
    return "{" + ",".join(_quoted(v, kind) for v in values) + "}"


def _columns(rows: Sequence[tuple], kinds: list[str]) -> list[str]:
    columns = zip(*rows, strict=True)
    return [array_literal(column, kind) for column, kind in zip(columns, kinds, strict=True)]


def _values(columns: dict[str, str], row) -> dict:
    """A row as model field values (JSON given as text is parsed)."""
    return {
        name: json.loads(value) if kind == "jsonb" and isinstance(value, str) else value
        for (name, kind), value in zip(columns.items(), row, strict=True)
    }


def bulk_insert(model, columns: dict[str, str], rows: Sequence[tuple], **constants) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``: column name → PostgreSQL type);
    ``constants`` are the same on every row."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(
            [model(**_values(columns, row), **constants) for row in rows], batch_size=500
        )
        return
    table = connection.ops.quote_name(model._meta.db_table)
    # the constants' text once, not once a row; ids and numbers (no escaping) by str()
    tail = "".join("\t" + _copy_text(value, "") for value in constants.values()) + "\n"
    texts = [
        _copy_bare if kind in _BARE else partial(_copy_text, kind=kind) for kind in columns.values()
    ]
    lines = (
        "\t".join([text(v) for text, v in zip(texts, row, strict=True)]) + tail for row in rows
    )
    with connection.cursor() as cursor:
        cursor.copy_expert(
            f"COPY {table} ({', '.join([*columns, *constants])}) FROM STDIN",
            _Stream(lines),
        )


def _copy_bare(value) -> str:
    """An id or a number in COPY's text format (nothing in it to escape)."""
    return "\\N" if value is None else str(value)


def _copy_text(value, kind: str) -> str:
    """A value in COPY's text format (NULL as \\N; backslash, tab and newlines escaped)."""
    if value is None:
        return "\\N"
    if kind == "jsonb" and not isinstance(value, str):
        value = json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":"))
    elif isinstance(value, datetime | date):
        return value.isoformat()
    elif isinstance(value, bool):
        return "t" if value else "f"
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


class _Stream:
    """A file to read COPY's input from, made line by line as it is read: the rows are never
    all in memory as text at once."""

    def __init__(self, lines):
        self._lines = lines
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            line = next(self._lines, None)
            if line is None:
                break
            self._buffer += line.encode()
        if size < 0:
            size = len(self._buffer)
        chunk, self._buffer = self._buffer[:size], self._buffer[size:]
        return chunk

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def bulk_update(model, columns: dict[str, str], rows: Sequence[tuple], **constants) -> None:
    """Update rows by primary key: each row is (pk, *values in the order of ``columns``);
    ``constants`` are set on every row alike."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        names = list(columns)
        objs = []
        for pk, *values in rows:
            objs.append(model(pk=pk, **_values(columns, values), **constants))
        fields = [n.removesuffix("_id") if n.endswith("_id") else n for n in [*names, *constants]]
        model.objects.bulk_update(objs, fields, batch_size=500)
        return
    table = connection.ops.quote_name(model._meta.db_table)
    sets = [f"{name} = v.{name}" for name in columns] + [f"{name} = %s" for name in constants]
    arrays = ", ".join(f"%s::{kind}[]" for kind in ["uuid", *columns.values()])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS t SET {', '.join(sets)} "  # noqa: S608
            f"FROM unnest({arrays}) AS v({', '.join(['id', *columns])}) WHERE t.id = v.id",
            [*constants.values(), *_columns(rows, ["uuid", *columns.values()])],
        )
