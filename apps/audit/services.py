"""Writes to the audit trail. Usage, from any app's service:

    from apps.audit.services import audit_changes, audit_record, audit_snapshot

    @transaction.atomic
    def need_approve(*, need_id, verifier):
        ...
        before = audit_snapshot(need, fields=["status"])
        need.status = ...; need.save()
        audit_record(action="need.approve", obj=need, before=before,
                     after=audit_snapshot(need, fields=["status"]))
        return need

- Call it INSIDE the transaction of the state change, so the event commits or rolls back with
  it, and as the LAST write of the transaction: it takes the chain's lock (a PostgreSQL
  transaction-level advisory lock, held until commit), so take no row locks after it.
- The actor and request id come from the request or task (``apps/audit/context.py``); pass
  ``actor=`` (a user, an API key, or ``"system"``) only to override them.
- ``before``/``after`` must hold non-confidential fields only: ``audit_snapshot`` leaves out
  encrypted fields and secrets, and ``audit_record`` drops them again for ``obj``'s model.
  Name changed confidential fields in ``detail`` (``confidential_changed_fields``), never
  their values.
- Reads of confidential fields are recorded by the serializers that reveal them
  (``apps/audit/reads.py``), not by services.
"""

import json
import zlib
from collections.abc import Iterable, Mapping
from datetime import UTC
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from aidmatch.audit import GENESIS, chain_hash
from apps.audit.context import Actor, actor_of, current_actor, current_request_id
from apps.audit.models import AuditEvent
from apps.core.fields import is_confidential_field
from apps.core.partner import is_creator_only_field

# One PostgreSQL advisory lock serializes appends, so the chain stays linear.
CHAIN_LOCK_KEY = zlib.crc32(b"aidmatch.audit.chain")
# Never recorded, whatever the model: secrets and their digests.
SECRET_FIELD_NAMES = frozenset(
    {"password", "hashed_key", "digest", "token_key", "salt", "key", "secret", "blob"}
)


def _json(value):
    """Values as the database's JSON will give them back (so hashes recompute exactly)."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def confidential_field_names(model) -> frozenset[str]:
    """Never recorded by value: encrypted fields, secrets, and what only the creator's side
    may see (a partner's metadata and external_reference: verifiers read the trail)."""
    return (
        frozenset(
            f.name
            for f in model._meta.concrete_fields
            if is_confidential_field(f) or is_creator_only_field(f)
        )
        | SECRET_FIELD_NAMES
    )


def audit_snapshot(obj: models.Model, *, fields: Iterable[str] | None = None) -> dict:
    """The object's non-confidential, non-secret concrete fields (foreign keys as ids), its
    primary key left out (it is the event's object_id)."""
    wanted = set(fields) if fields is not None else None
    hidden = confidential_field_names(type(obj))
    out = {}
    for field in obj._meta.concrete_fields:
        if field.primary_key or field.name in hidden:
            continue
        if wanted is not None and field.name not in wanted:
            continue
        value = field.value_from_object(obj)
        if isinstance(value, models.expressions.Combinable):
            continue  # an F() expression not yet saved and re-read
        if isinstance(field, models.DecimalField) and isinstance(value, Decimal):
            value = value.quantize(Decimal(1).scaleb(-field.decimal_places))  # as stored
        out[field.name] = value
    return _json(out)


def audit_changes(before: Mapping, after: Mapping) -> tuple[dict, dict]:
    """Only the keys whose values differ, from two snapshots."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    keys += [k for k in before if k not in after]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def object_type_of(obj_or_model) -> str:
    return obj_or_model._meta.model_name


def object_id_of(obj: models.Model) -> str:
    prefix = getattr(obj, "prefix", None)  # API keys go by their public prefix
    if getattr(obj, "is_api_key", False) and prefix:
        return str(prefix)
    if hasattr(obj, "digest") and obj._meta.model_name == "authtoken":
        return obj.digest[:16]  # a bearer token by a prefix of its digest
    return str(obj.pk)


def _scrub(model, data: Mapping | None) -> dict | None:
    if data is None:
        return None
    hidden = confidential_field_names(model) if model is not None else SECRET_FIELD_NAMES
    return _json({k: v for k, v in data.items() if k not in hidden})


def _event(
    *,
    action: str,
    obj=None,
    object_type=None,
    object_id=None,
    before=None,
    after=None,
    detail=None,
    actor=None,
    when=None,
) -> AuditEvent:
    who: Actor = current_actor() if actor is None else actor_of(actor)
    model = type(obj) if obj is not None else None
    return AuditEvent(
        occurred_at=(when or timezone.now()).astimezone(UTC),
        actor=who.actor[:80],
        actor_label=who.label[:254],
        via=who.via[:120],
        action=action,
        object_type=object_type or (object_type_of(obj) if obj is not None else ""),
        object_id=str(object_id if object_id is not None else object_id_of(obj) if obj else "")[
            :100
        ],
        before=_scrub(model, before),
        after=_scrub(model, after),
        detail=_json(detail or {}),
        request_id=current_request_id()[:64],
    )


def _append(events: list[AuditEvent]) -> list[AuditEvent]:
    """Link the events onto the chain and insert them, under the chain's lock.

    On PostgreSQL a transaction-level advisory lock makes appends take turns: the lock is held
    until the surrounding transaction commits, so the next writer reads the committed head.
    SQLite (the embedded mode) runs write transactions one at a time anyway."""
    if not events:
        return events
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            # The lock, then the head read after it (migration 0003), in one round trip.
            with connection.cursor() as cursor:
                cursor.execute("SELECT audit_chain_head(%s)", [CHAIN_LOCK_KEY])
                head = cursor.fetchone()[0]
        else:
            head = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        prev = head or GENESIS
        for event in events:
            event.prev_hash = prev
            event.hash = chain_hash(prev, event.hashed_fields())
            prev = event.hash
        if connection.vendor != "postgresql":
            return AuditEvent.objects.bulk_create(events)
        _insert(events)
        return events


# The columns ``_insert`` writes, each with its array type (JSON as text, cast by the server).
_COLUMNS = (
    ("occurred_at", "timestamptz[]"),
    ("actor", "text[]"),
    ("actor_label", "text[]"),
    ("via", "text[]"),
    ("action", "text[]"),
    ("object_type", "text[]"),
    ("object_id", "text[]"),
    ("before", "text[]::jsonb[]"),
    ("after", "text[]::jsonb[]"),
    ("detail", "text[]::jsonb[]"),
    ("request_id", "text[]"),
    ("prev_hash", "text[]"),
    ("hash", "text[]"),
)
_JSON_COLUMNS = frozenset({"before", "after", "detail"})
_INSERT_SQL = (
    f"INSERT INTO {AuditEvent._meta.db_table} ({', '.join(c for c, _ in _COLUMNS)}) "  # noqa: S608
    f"SELECT * FROM unnest({', '.join(f'%s::{kind}' for _, kind in _COLUMNS)}) RETURNING id"
)


def _json_text(value) -> str | None:
    return None if value is None else json.dumps(value, cls=DjangoJSONEncoder)


def _insert(events: list[AuditEvent]) -> None:
    """Insert the events in one statement, a column at a time (``unnest``), in order, and give
    each its id: what ``bulk_create`` does, without building its SQL row by row (a page of 50
    audited reads spent more time there than in the rest of the audit)."""
    arrays = [
        [_json_text(getattr(e, column)) for e in events]
        if column in _JSON_COLUMNS
        else [getattr(e, column) for e in events]
        for column, _ in _COLUMNS
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, arrays)
        ids = [row[0] for row in cursor.fetchall()]
    for event, pk in zip(events, ids, strict=True):
        event.pk = pk
        event._state.adding = False


def audit_record(
    *,
    action: str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id=None,
    before: Mapping | None = None,
    after: Mapping | None = None,
    actor=None,
    detail: Mapping | None = None,
) -> AuditEvent:
    """Append one event (see the module's note: inside the change's transaction, last)."""
    event = _event(
        action=action,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        detail=detail,
        actor=actor,
    )
    return _append([event])[0]


def audit_record_many(entries: Iterable[Mapping]) -> list[AuditEvent]:
    """Append several events in one step (one lock, one read of the head, one insert); each
    entry takes audit_record's keyword arguments."""
    when = timezone.now()
    return _append([_event(when=when, **entry) for entry in entries])
