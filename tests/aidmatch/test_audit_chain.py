"""The audit hash chain, without a database."""

from aidmatch.audit import GENESIS, canonical, chain_hash, first_break


def _chain(n):
    events, prev = [], GENESIS
    for i in range(n):
        fields = {"action": "need.approve", "object_id": str(i), "after": {"status": "open"}}
        digest = chain_hash(prev, fields)
        events.append([i, prev, digest, fields])
        prev = digest
    return events


def test_canonical_json_ignores_key_order_and_unknown_fields():
    a = canonical({"action": "x", "after": {"b": 1, "a": "é"}, "extra": 1})
    b = canonical({"after": {"a": "é", "b": 1}, "action": "x"})
    assert a == b
    assert " " not in a


def test_an_intact_chain_has_no_break():
    assert first_break(_chain(5)) is None


def test_an_altered_event_is_the_first_break():
    events = _chain(5)
    events[2][3] = {**events[2][3], "after": {"status": "funded"}}
    broken = first_break(events)
    assert broken.event_id == 2
    assert "altered" in broken.reason


def test_a_removed_event_breaks_the_next_link():
    events = _chain(5)
    del events[1]
    broken = first_break(events)
    assert broken.event_id == 2
    assert "removed" in broken.reason
