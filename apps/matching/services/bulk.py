"""Many rows in one statement: on PostgreSQL one ``INSERT … SELECT FROM unnest(…)`` or one
``UPDATE … FROM unnest(…)`` per call, whatever the number of rows (each column travels as one
array literal, so the statement's text does not grow with a parameter per value); elsewhere
(SQLite, the embedded mode) Django's bulk_create and bulk_update.

Column names come from this package's constants, never from input.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime

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
    arrays = ", ".join(f"%s::{kind}[]" for kind in columns.values())
    values = ", ".join(["v.*", *("%s" for _ in constants)])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join([*columns, *constants])}) "  # noqa: S608
            f"SELECT {values} FROM unnest({arrays}) AS v",
            [*constants.values(), *_columns(rows, list(columns.values()))],
        )


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
