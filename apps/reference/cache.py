"""Reference rows (currencies, sectors, provinces) read once per process.

They ship with the code (a data migration loads them) and do not change at runtime, so a request
need not read them again: validating a pledge's 48 earmark codes costs no statement. A code not
in the cache reloads its table once (a row added since), and the database's foreign keys still
check every code that is written.
"""

from django.db import models

from apps.reference.models import Currency, Province, Sector

_tables: dict[type[models.Model], dict[str, models.Model]] = {}


def _load(model: type[models.Model]) -> dict[str, models.Model]:
    rows = {obj.pk: obj for obj in model.objects.all()}
    _tables[model] = rows
    return rows


def reference_row(model: type[models.Model], code: str) -> models.Model | None:
    """The row of ``model`` (Currency, Sector or Province) with primary key ``code``, or None."""
    rows = _tables.get(model)
    if rows is None or code not in rows:
        rows = _load(model)
    return rows.get(code)


def clear() -> None:
    _tables.clear()


__all__ = ["Currency", "Province", "Sector", "clear", "reference_row"]
