"""A partner app's own ids and notes on what it creates: ``external_reference`` and ``metadata``.

On pledges, needs and tranches. Both belong to the creator's side alone (a pledge's or a
tranche's donor, a need's organization: its members and API keys): no other party sees them,
verifiers included, and the audit trail names them when they change, never their values.

- ``metadata``: a JSON object of at most 20 keys (1 to 40 characters of ``A-Z a-z 0-9 _ . -``),
  each value a string of at most 500 characters. Given whole: a change replaces the object
  (``{}`` clears it).
- ``external_reference``: a string of at most 100 characters, unique per creator (a database
  constraint); ``null`` clears it. Taking one the creator already used is a 409 naming the
  object that has it (``ReferenceTaken``).

Output: the fields below appear only on rows shown to their creator. A view says which rows
those are with ``show_to_creator``; a serializer given a request in its context may instead
answer ``is_creator(request, obj)``. Without either, the fields are left out (a safe default for
every other channel, e.g. exports). Event payloads add them to the creator's audience only
(``apps.events.payloads.creator_view``), so a partner maps each event to its own record.
"""

import re
from collections.abc import Callable, Iterable
from contextlib import contextmanager

from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_noop as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField

from aidmatch.errors import ReferenceTaken

FIELDS = ("metadata", "external_reference")
METADATA_MAX_KEYS = 20
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500
REFERENCE_MAX = 100
_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")

_SHOWN = "_shown_to_creator"


# --- Model fields -------------------------------------------------------------------------------


class MetadataModelField(models.JSONField):
    """The creator's metadata (never audited by value: ``creator_only``)."""

    creator_only = True

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", dict)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("help_text", "The creator's own key/value notes (creator-only).")
        super().__init__(*args, **kwargs)


class ExternalReferenceModelField(models.CharField):
    """The creator's own id for the object, unique per creator (never audited by value)."""

    creator_only = True

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", REFERENCE_MAX)
        kwargs.setdefault("null", True)  # NULLs are distinct: no reference, no conflict
        kwargs.setdefault("blank", True)
        kwargs.setdefault("help_text", "The creator's own id for it, unique per creator.")
        super().__init__(*args, **kwargs)


def is_creator_only_field(field) -> bool:
    return bool(getattr(field, "creator_only", False))


# --- Input --------------------------------------------------------------------------------------

METADATA_SCHEMA = {
    "type": "object",
    "maxProperties": METADATA_MAX_KEYS,
    "additionalProperties": {"type": "string", "maxLength": METADATA_VALUE_MAX},
}


@extend_schema_field(METADATA_SCHEMA)
class MetadataField(serializers.JSONField):
    """A JSON object of short string values, checked key by key (errors at ``metadata.<key>``)."""

    default_error_messages = {
        "not_an_object": gettext_lazy("Must be a JSON object of string values."),
        "too_many": gettext_lazy("At most {max_keys} keys."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            f"Your own notes: at most {METADATA_MAX_KEYS} keys of 1-{METADATA_KEY_MAX} characters "
            f"(A-Z a-z 0-9 _ . -), string values of at most {METADATA_VALUE_MAX} characters. "
            "Shown to your side only; a change replaces the whole object.",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("not_an_object")
        if len(data) > METADATA_MAX_KEYS:
            self.fail("too_many", max_keys=METADATA_MAX_KEYS)
        errors: dict[str, list[str]] = {}
        for key, value in data.items():
            problems = []
            if not (1 <= len(key) <= METADATA_KEY_MAX and _KEY.match(key)):
                problems.append(
                    gettext("Keys are 1 to %(most)s characters of A-Z, a-z, 0-9, _ . -")
                    % {"most": METADATA_KEY_MAX}
                )
            if not isinstance(value, str):
                problems.append(gettext("Values are strings."))
            elif len(value) > METADATA_VALUE_MAX:
                problems.append(
                    gettext("At most %(most)s characters.") % {"most": METADATA_VALUE_MAX}
                )
            elif "\x00" in value:
                problems.append(gettext("No NUL characters."))
            if problems:
                errors[key[:METADATA_KEY_MAX] or "(empty key)"] = problems
        if errors:
            raise serializers.ValidationError(errors)
        return dict(data)


class ExternalReferenceField(serializers.CharField):
    """Your own id for the object: printable text of at most 100 characters; null clears it."""

    default_error_messages = {"control": gettext_lazy("No control characters.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("max_length", REFERENCE_MAX)
        kwargs.setdefault(
            "help_text",
            f"Your own id for it (at most {REFERENCE_MAX} characters), unique among yours; "
            "filter lists with ?external_reference=. Shown to your side only.",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):  # DRF would take 12 for "12"
            self.fail("invalid")
        value = super().to_internal_value(data)
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            self.fail("control")
        return value


class PartnerFieldsInput(serializers.Serializer):
    """Mixed into an input serializer: ``metadata`` and ``external_reference``."""

    metadata = MetadataField()
    external_reference = ExternalReferenceField()


# --- Output -------------------------------------------------------------------------------------


def show_to_creator(rows: Iterable, is_creator: Callable[[object], bool]) -> None:
    """Mark the rows a response shows to their creator (the others keep the fields hidden)."""
    for row in rows:
        setattr(row, _SHOWN, bool(is_creator(row)))


def _shown(field, instance) -> bool:
    shown = getattr(instance, _SHOWN, None)
    if shown is not None:
        return shown
    request = field.context.get("request")
    is_creator = getattr(field.parent, "is_creator", None)
    return bool(request is not None and is_creator is not None and is_creator(request, instance))


# Output only, yet not ``read_only``: the schema marks read-only fields required, and these are
# absent from the rows of anyone but the creator.


@extend_schema_field(METADATA_SCHEMA)
class CreatorMetadataField(serializers.JSONField):
    """``metadata`` on output, on the creator's rows only (absent on the others)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Your own notes (present for your side only).")
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        if not _shown(self, instance):
            raise SkipField
        return instance.metadata

    def to_representation(self, value):
        return value


class CreatorReferenceField(serializers.CharField):
    """``external_reference`` on output, on the creator's rows only (absent on the others)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("help_text", "Your own id for it (present for your side only).")
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        if not _shown(self, instance):
            raise SkipField
        return instance.external_reference


# --- Writes -------------------------------------------------------------------------------------


def constraint_of(error: IntegrityError) -> str | None:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


def save_with_reference(
    write: Callable[[], object],
    *,
    reference: str | None,
    constraints: Iterable[str],
    existing: Callable[[], object],
    what: str,
):
    """Run ``write`` (an insert or update that sets ``reference``) inside a transaction of the
    caller's; when ``reference`` is taken (one of the ``constraints``), raise ReferenceTaken
    naming ``existing()``'s id.

    Only a write that sets a reference runs in a savepoint (two statements), so that the
    transaction can go on to find the object that has it; other writes cost nothing more."""
    if not reference:
        return write()
    with (
        reference_guard(reference, constraints=constraints, existing=existing, what=what),
        transaction.atomic(),
    ):
        return write()


def set_fields(
    obj, fields: dict, *, constraints: Iterable[str], existing: Callable[[], object], what: str
) -> list[str]:
    """Set the partner fields among ``fields`` that differ on ``obj`` (locked by the caller) and
    save just those (a reference the creator already used is a ReferenceTaken naming
    ``existing()``); the names of the fields changed."""
    changed = [name for name in FIELDS if name in fields and getattr(obj, name) != fields[name]]
    if not changed:
        return changed
    for name in changed:
        setattr(obj, name, dict(fields[name]) if name == "metadata" else fields[name])
    save_with_reference(
        lambda: obj.save(update_fields=[*changed, "updated_at"]),
        reference=obj.external_reference if "external_reference" in changed else None,
        constraints=constraints,
        existing=existing,
        what=what,
    )
    return changed


@contextmanager
def reference_guard(
    reference: str | None,
    *,
    constraints: Iterable[str],
    existing: Callable[[], object],
    what: str,
):
    """Around a whole transaction (or savepoint) that may set ``reference``: its IntegrityError
    on one of the ``constraints``, once rolled back, becomes ReferenceTaken naming
    ``existing()``'s id (read after the rollback, outside the failed block)."""
    try:
        yield
    except IntegrityError as error:
        if not reference or constraint_of(error) not in set(constraints):
            raise
        existing_id = existing()
        raise ReferenceTaken(
            _("You already used this external_reference for %(what)s %(existing_id)s."),
            params={"what": what, "existing_id": existing_id},
            existing_id=str(existing_id) if existing_id is not None else None,
        ) from None


def named(fields, *, key: str = "creator_fields_set") -> dict:
    """For an audit record's detail: which creator-only fields a write set, by name only."""
    names = sorted(n for n in FIELDS if n in fields and fields[n] not in (None, "", {}))
    return {key: names} if names else {}
