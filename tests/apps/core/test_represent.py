"""``represent``: a serializer built once per class and thread, lent to one call at a time,
each call with its own context."""

import threading

from rest_framework import serializers

from apps.core.serializers import represent


class Node(serializers.Serializer):
    """Its ``child`` is shown by a nested ``represent`` of the same class; ``who`` reads the
    context after the child was shown."""

    name = serializers.CharField()
    child = serializers.SerializerMethodField()
    who = serializers.SerializerMethodField()

    def get_child(self, obj):
        wait = self.context.get("wait")
        if wait is not None:
            wait()
        child = obj.get("child")
        return None if child is None else represent(Node, child, {"who": f"{obj['name']}'s child"})

    def get_who(self, obj):
        return self.context.get("who")


def test_the_output_is_the_serializer_s_own_data():
    tree = {"name": "a", "child": {"name": "b"}}

    assert represent(Node, tree, {"who": "me"}) == Node(tree, context={"who": "me"}).data
    assert represent(Node, tree, {"who": "me"}) == {
        "name": "a",
        "child": {"name": "b", "child": None, "who": "a's child"},
        "who": "me",
    }


def test_each_call_sees_its_own_context_and_none_after_it():
    tree = {"name": "a"}

    assert represent(Node, tree, {"who": "first"})["who"] == "first"
    assert represent(Node, tree)["who"] is None  # nothing left from the call before
    assert represent(Node, tree, {"who": "third"})["who"] == "third"


def test_a_nested_call_for_the_same_class_does_not_take_the_outer_call_s_serializer():
    tree = {"name": "a", "child": {"name": "b", "child": {"name": "c"}}}

    shown = represent(Node, tree, {"who": "outer"})

    assert shown["who"] == "outer"  # read after the children were shown
    assert shown["child"]["who"] == "a's child"
    assert shown["child"]["child"] == {"name": "c", "child": None, "who": "b's child"}


def test_threads_showing_at_the_same_time_keep_their_contexts_apart():
    both_inside = threading.Barrier(2, timeout=10)
    results, errors = {}, []

    def show(who):
        try:
            context = {"who": who, "wait": both_inside.wait}
            results[who] = represent(Node, {"name": who}, context)["who"]
        except Exception as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=show, args=(who,)) for who in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert errors == []
    assert results == {"left": "left", "right": "right"}
