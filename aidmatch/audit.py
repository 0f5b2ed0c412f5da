"""The audit trail's hash chain, in plain Python.

Each event carries the hash of the one before it: ``hash = sha256(prev_hash + canonical JSON of
the event's fields)``. Changing, removing or reordering a stored event breaks every link after
it, so a walk of the chain from the start finds the first event that was tampered with.
(Cutting events off the end leaves a shorter valid chain: compare the head hash with one kept
elsewhere to catch that.)
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

GENESIS = "0" * 64

# The fields of an event that its hash covers (its id and its hashes excepted).
HASHED_FIELDS = (
    "occurred_at",
    "actor",
    "actor_label",
    "via",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "detail",
    "request_id",
)


def canonical(fields: Mapping) -> str:
    """One text for one event: sorted keys, no spaces, only the hashed fields."""
    return json.dumps(
        {name: fields.get(name) for name in HASHED_FIELDS},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def chain_hash(prev_hash: str, fields: Mapping) -> str:
    return hashlib.sha256((prev_hash + canonical(fields)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    event_id: object
    reason: str


class ChainWalker:
    """Checks events one at a time, in chain order (so a long chain can be streamed)."""

    def __init__(self, start: str = GENESIS) -> None:
        self.head = start
        self.count = 0

    def check(
        self, event_id, prev_hash: str, stored_hash: str, fields: Mapping
    ) -> ChainBreak | None:
        if prev_hash != self.head:
            return ChainBreak(
                event_id,
                "its prev_hash is not the hash of the event before it "
                "(an event was removed, inserted or reordered)",
            )
        if chain_hash(prev_hash, fields) != stored_hash:
            return ChainBreak(event_id, "its content does not match its hash (it was altered)")
        self.head = stored_hash
        self.count += 1
        return None


def first_break(
    events: Iterable[tuple[object, str, str, Mapping]], *, start: str = GENESIS
) -> ChainBreak | None:
    """Walk ``(id, prev_hash, hash, fields)`` in chain order; the first bad link, or None."""
    walker = ChainWalker(start)
    for event in events:
        broken = walker.check(*event)
        if broken is not None:
            return broken
    return None
