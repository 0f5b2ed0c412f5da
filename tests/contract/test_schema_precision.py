"""The served schema says what every response holds, so that generated clients type it all:

- no union of objects without a discriminator (a generated client parses a fuller shape as the
  first that fits, and leaves the rest untyped); unions of scalars (an email or "") are fine;
- every successful response but a 204 has a schema, and every property a type (a JSON column
  without one is ``Any`` in a client);
- an object without properties is a declared map (``additionalProperties`` given), never a
  bare ``{"type": "object"}``.

The generated-client test (test_generated_client.py) checks the same from a client's side;
tests/apps/core/test_locations.py checks that every create documents its ``Location``.
"""

import pytest
from django.test import Client

from apps.core.schema import merge_levels

TYPED = ("type", "$ref", "allOf", "oneOf", "anyOf", "enum")


@pytest.fixture(scope="module")
def schema():
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _walk(node, path="#"):
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def _is_object(member: dict, components: dict) -> bool:
    if "$ref" in member:
        member = components[member["$ref"].rsplit("/", 1)[1]]
    return member.get("type") == "object" or "properties" in member


def test_no_union_of_objects_without_a_discriminator(schema):
    components = schema["components"]["schemas"]
    found = [
        path
        for path, node in _walk(schema)
        for key in ("anyOf", "oneOf")
        if key in node
        and "discriminator" not in node
        and any(_is_object(m, components) for m in node[key])
    ]
    assert found == []


def test_every_success_and_every_property_is_typed(schema):
    untyped = []
    for route, item in schema["paths"].items():
        for method, operation in item.items():
            for status, response in operation.get("responses", {}).items():
                if not status.startswith("2") or status == "204":
                    continue
                contents = response.get("content") or {"(none)": {}}
                untyped += [
                    f"{method.upper()} {route} {status} {media}"
                    for media, content in contents.items()
                    if "schema" not in content
                ]
    for path, node in _walk(schema):
        for name, prop in node.get("properties", {}).items() if "properties" in node else ():
            if isinstance(prop, dict) and not any(key in prop for key in TYPED):
                untyped.append(f"{path}/properties/{name}")
        bare = node.get("additionalProperties", {}) == {}  # absent, or of any type
        if node.get("type") == "object" and "properties" not in node and bare:
            untyped.append(f"{path} (an object of unknown keys)")
    assert untyped == []


def test_a_resource_by_tier_is_one_object(schema):
    """A need: the public fields required, the others optional and saying who sees them."""
    need = schema["components"]["schemas"]["NeedAtAnyDetail"]
    assert "anyOf" not in need and need["type"] == "object"
    assert {"id", "status", "amount", "currency"} <= set(need["required"])
    assert "title" not in need["required"] and "line_items" not in need["required"]
    assert "insider level only" in need["properties"]["location_detail"]["description"]


def test_levels_merge_into_one_object():
    merged = merge_levels(
        {
            "public": {
                "properties": {"id": {"type": "string"}, "district": {"type": "string"}},
                "required": ["id", "district"],
            },
            "insider": {
                "properties": {
                    "id": {"type": "string", "readOnly": True},
                    "district": {"type": "string", "nullable": True},
                    "title": {"type": "string", "description": "Its title."},
                },
                "required": ["id", "district", "title"],
            },
        }
    )
    assert merged["required"] == ["district", "id"]
    assert merged["properties"]["district"]["nullable"] is True
    assert (
        merged["properties"]["title"]["description"]
        == "Its title. Shown at the insider level only."
    )
    with pytest.raises(ValueError, match="'id' has a different type"):
        merge_levels(
            {
                "a": {"properties": {"id": {"type": "string"}}},
                "b": {"properties": {"id": {"type": "integer"}}},
            }
        )


def test_the_schema_generates_without_a_warning(tmp_path):
    """drf-spectacular's warnings (two names for one enum, colliding enum names…) are what
    `check --deploy` fails on in CI: the schema is generated and validated with none."""
    from django.core.management import call_command

    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )
    assert (tmp_path / "schema.yaml").read_text().count("EventTypeEnum") >= 2
