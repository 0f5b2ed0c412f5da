"""Key rotation for everything encrypted at rest: re-encrypt each value that the newest key in
``FIELD_ENCRYPTION_KEYS`` cannot open, with that key (``MultiFernet.rotate``).

Walks every model's encrypted columns (``EncryptedTextField``/``EncryptedJSONField`` values and
``FernetBlobField`` files) in primary-key order, a chunk per transaction with its rows
locked (``FOR NO KEY UPDATE``), so concurrent edits are neither lost nor overwritten. Values
already under the newest key are left alone, so a run can be stopped and started again.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction

from apps.core.fields import FernetBlobField, fernet, is_confidential_field


@dataclass
class Tally:
    rows: int = 0
    rewritten: int = 0
    fields: list[str] = field(default_factory=list)


class UndecryptableValue(Exception):
    pass


def encrypted_models():
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        fields = [f for f in model._meta.concrete_fields if is_confidential_field(f)]
        if fields:
            yield model, fields


def _rotate_value(value, *, newest: Fernet, binary: bool):
    """The value re-encrypted with the newest key, or None when it needs nothing."""
    if value is None or value in ("", b""):
        return None
    token = bytes(value) if binary else value.encode()
    try:
        newest.decrypt(token)
        return None
    except InvalidToken:
        pass
    rotated = fernet().rotate(token)  # raises InvalidToken if no listed key opens it
    return rotated if binary else rotated.decode()


def rotate_field_keys(
    *, chunk_size: int = 500, progress: Callable[[str, Tally], None] | None = None
) -> dict[str, Tally]:
    newest = Fernet(settings.FIELD_ENCRYPTION_KEYS[0].encode())
    qn = connection.ops.quote_name
    lock = " FOR NO KEY UPDATE" if connection.features.has_select_for_no_key_update else ""
    tallies: dict[str, Tally] = {}
    for model, fields in encrypted_models():
        label = model._meta.label_lower
        tally = tallies[label] = Tally(fields=[f.name for f in fields])
        table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
        columns = ", ".join(qn(f.column) for f in fields)
        last = None
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                where = f"WHERE {pk} > %s " if last is not None else ""
                cursor.execute(
                    # identifiers from model metadata, quoted; values are parameters
                    f"SELECT {pk}, {columns} FROM {table} {where}ORDER BY {pk} LIMIT %s{lock}",  # noqa: S608
                    [last, chunk_size] if last is not None else [chunk_size],
                )
                rows = cursor.fetchall()
                if not rows:
                    break
                for row in rows:
                    changes = {}
                    for f, value in zip(fields, row[1:], strict=True):
                        try:
                            new = _rotate_value(
                                value, newest=newest, binary=isinstance(f, FernetBlobField)
                            )
                        except InvalidToken:
                            raise UndecryptableValue(
                                f"{label}.{f.name} of row {row[0]} opens with none of "
                                "FIELD_ENCRYPTION_KEYS"
                            ) from None
                        if new is not None:
                            changes[f.column] = new
                    if changes:
                        sets = ", ".join(f"{qn(c)} = %s" for c in changes)
                        cursor.execute(
                            f"UPDATE {table} SET {sets} WHERE {pk} = %s",  # noqa: S608
                            [*changes.values(), row[0]],
                        )
                        tally.rewritten += 1
                tally.rows += len(rows)
                last = rows[-1][0]
            if progress is not None:
                progress(label, tally)
    return tallies
