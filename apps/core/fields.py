"""Confidential fields, encrypted at rest with Fernet keys from the environment.

``FIELD_ENCRYPTION_KEYS`` lists keys newest first: new values are encrypted with the first, and
any listed key decrypts, so keys rotate by prepending a new one (``manage.py rotate_field_keys``
re-encrypts old rows).
"""

import json
from collections.abc import Iterable
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import QuerySet
from django.db.models.functions import Cast


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty.")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def _encrypt(text: str | None) -> str | None:
    if text is None or text == "":
        return text
    return fernet().encrypt(text.encode()).decode()


class EncryptedTextField(models.TextField):
    """A text value stored as a Fernet token. Not searchable or orderable, by design."""

    description = "Encrypted text"

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return _encrypt(value)

    def from_db_value(self, value, expression, connection):
        return self.decrypt(value)

    def decrypt(self, value: str | None):
        """The value of a stored token: what loading the column gives (see ``decrypt_later``)."""
        if value is None or value == "":
            return value
        try:
            return fernet().decrypt(value.encode()).decode()
        except InvalidToken as exc:
            raise ImproperlyConfigured(
                f"{self.model.__name__}.{self.name} cannot be decrypted with FIELD_ENCRYPTION_KEYS"
            ) from exc


class EncryptedJSONField(EncryptedTextField):
    """A JSON value (lists, objects) stored encrypted."""

    description = "Encrypted JSON"

    def get_prep_value(self, value):
        if value is None:
            return None
        return _encrypt(json.dumps(value, sort_keys=True))

    def decrypt(self, value: str | None):
        text = super().decrypt(value)
        return None if text in (None, "") else json.loads(text)

    def to_python(self, value):
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj))


class FernetBlobField(models.BinaryField):
    """Bytes stored as a Fernet token (a confidential file's content): encrypted and decrypted
    by ``apps.core.files``, not on every load, so listing files never decrypts them. Declared as
    its own type so that key rotation and the audit trail know it holds ciphertext."""

    description = "Fernet-encrypted bytes"


_CIPHERTEXT = "_ciphertext_of_"


def decrypt_later(queryset: QuerySet, *names: str) -> QuerySet:
    """The queryset with these encrypted columns loaded as ciphertext, not decrypted: each
    ``name`` (``"location_detail"``, or across a join, ``"organization__address"``) is deferred
    and its token rides along, for ``decrypt_now`` to decrypt on the objects that will show it.
    Decrypting costs more than the rest of loading a row; most callers see no secret."""
    for name in names:
        queryset = queryset.defer(name).annotate(
            **{_CIPHERTEXT + name: Cast(name, models.TextField())}
        )
    return queryset


def decrypt_now(objects: Iterable[models.Model], *names: str) -> None:
    """Decrypt columns that ``decrypt_later`` left as ciphertext, on these objects only (those
    whose secrets the caller may see). Objects not passed keep the column deferred: reading it
    would load and decrypt it then, one query each."""
    for obj in objects:
        for name in names:
            *path, attribute = name.split("__")
            target = obj
            for step in path:
                target = getattr(target, step)
            field = target._meta.get_field(attribute)
            setattr(target, field.attname, field.decrypt(getattr(obj, _CIPHERTEXT + name)))


def is_confidential_field(field) -> bool:
    """Encrypted at rest, hence confidential: never logged, exported or audited by value."""
    return isinstance(field, EncryptedTextField | FernetBlobField)
