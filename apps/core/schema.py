"""The OpenAPI schema's conventions.

- Every operation also documents the problems (RFC 9457) it answers with: a postprocessing hook
  (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) adds one ``Problem`` component and, to each
  operation, the error statuses it can return, as ``application/problem+json`` (see
  apps.core.problems). A status an operation declares itself is left as it is.
- Path ids are typed (uuid, integer) though the router matches them with patterns.
- Every 201 of a POST to a collection that has a detail path declares the ``Location``
  header (the detail URL of the created object; apps.core.middleware.CreatedLocationMiddleware
  sets it): a second postprocessing hook.
- A response shown at several levels of detail (a need to the public, to a signed-in donor, to
  its organization) is documented with ``ByTierSerializer`` as one object: every field of the
  fullest shape, required only where every level shows it, each other field saying which levels
  show it. Generated clients then parse every level into one typed model (a field the caller's
  level does not show is simply absent: ``Unset`` in openapi-python-client), where an ``anyOf``
  without a discriminator parsed a fuller shape as the smallest one and left the rest untyped.
- Nothing is left untyped (tests/contract/test_schema_precision.py): a JSON column is declared
  with ``documented_json`` (its shape, or ``FREE_FORM_OBJECT`` where its keys are its content), a
  download with ``file_download``, a response built as plain data with a serializer describing it.
"""

import re

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.serializers import PolymorphicProxySerializerExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from apps.core.files import MAGIC
from apps.core.problems import PROBLEM_CONTENT_TYPE
from apps.core.routers import INTEGER_LOOKUP, UUID_LOOKUP

# The router's id patterns (apps.core.routers), documented as the types they stand for.
LOOKUP_TYPES = {
    f"^{UUID_LOOKUP}$": {"type": "string", "format": "uuid"},
    f"^{INTEGER_LOOKUP}$": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
}


# A list's CSV (apps.core.tabular): text, its columns those of the JSON list's items.
CSV_MEDIA_TYPE = "text/csv"
CSV_BODY = {
    "type": "string",
    "description": (
        "Every row of the list (all pages), with the JSON list's filters and visibility: a "
        "header of the item's fields (nested objects as parent.child), then one line per item; "
        "with ?format=hxl, an HXL hashtag row under the header."
    ),
}


class AutoSchema(SpectacularAutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        tabular = False
        for response in operation.get("responses", {}).values():
            content = response.get("content", {})
            if CSV_MEDIA_TYPE in content:
                content[CSV_MEDIA_TYPE] = {"schema": dict(CSV_BODY)}
                tabular = True
        for parameter in operation.get("parameters", ()) if tabular else ():
            if parameter["name"] == "format" and parameter["in"] == "query":
                # Added by drf-spectacular from the renderers' formats.
                parameter["description"] = (
                    "csv: the whole list as CSV (as Accept: text/csv); hxl (where listed): "
                    "the same with an HXL hashtag row under the header."
                )
        return operation

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            typed = LOOKUP_TYPES.get(parameter["schema"].get("pattern"))
            if typed:
                parameter["schema"] = dict(typed)
        return parameters


PROBLEM = {
    "type": "object",
    "description": "An error, as application/problem+json (RFC 9457).",
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "object",
            "description": "Messages per field, by dotted path (e.g. line_items.0.unit_cost).",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["type", "title", "status", "detail", "code"],
}
# Any operation: bad input (body, query, path, headers), credentials, access, throttling.
ANY_OPERATION = {
    "400": "Invalid input; `errors` names each field.",
    "401": "Not authenticated, or the credentials are invalid.",
    "403": "Not permitted.",
    "404": "No such resource, or one the caller may not see.",
    "429": "Too many requests; retry after Retry-After seconds.",
}
# Operations that change something.
WRITES = {
    "409": "The object's state does not allow this, or a concurrent change won.",
    "413": "The request body is too large.",
    "415": "Unsupported media type: send application/json.",
    "422": "Well-formed input that breaks a rule (or an Idempotency-Key reused).",
}
IF_MATCH = {"412": "The If-Match ETag is stale: read the object again."}


def add_problem_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM
    content = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            codes = dict(ANY_OPERATION)
            if method in ("post", "put", "patch", "delete"):
                codes.update(WRITES)
            headers = {
                p["name"].lower() for p in operation.get("parameters", ()) if p["in"] == "header"
            }
            if "if-match" in headers:
                codes.update(IF_MATCH)
            responses = operation.setdefault("responses", {})
            for code, description in codes.items():
                responses.setdefault(code, {"content": content, "description": description})
            operation["responses"] = dict(sorted(responses.items()))
    return result


LOCATION = {
    "Location": {
        "description": "The URL of the created object.",
        "required": True,
        "schema": {"type": "string", "format": "uri"},
    }
}


def add_location_headers(result, generator, request, public):
    paths = result.get("paths", {})
    details = {
        path.rstrip("/").rsplit("/", 1)[0] for path in paths if re.search(r"/\{\w+\}/?$", path)
    }
    for path, path_item in paths.items():
        created = path_item.get("post", {}).get("responses", {}).get("201")
        if created is not None and path.rstrip("/") in details:
            created["headers"] = {**created.get("headers", {}), **LOCATION}
    return result


class ByTierSerializer(PolymorphicProxySerializer):
    """For ``extend_schema`` only: a resource shown at several levels of detail, each a
    serializer, given as ``{level name: serializer}`` from the least to the most detailed.
    Documented as one object (see the module's docstring and ``ByTierSerializerExtension``)."""

    def __init__(self, component_name, serializers: dict, **kwargs):
        kwargs.setdefault("resource_type_field_name", None)
        super().__init__(component_name, serializers, **kwargs)


# What may differ between two levels' schemas of one field: its description, whether it can be
# null (a field nullable at any level is nullable in the merged schema), and what only input
# would be checked against (a field read-only at one level, writable at another).
_MAY_DIFFER = ("description", "nullable", "readOnly", "maxLength", "minLength", "pattern")


def _type_of(prop: dict) -> dict:
    """A property's schema without what may differ between levels (``allOf`` of one ``$ref``
    is the ``$ref``)."""
    prop = {k: v for k, v in prop.items() if k not in _MAY_DIFFER}
    if len(prop.get("allOf", ())) == 1:
        prop = {**prop.pop("allOf")[0], **prop}
    return prop


def merge_levels(levels: dict[str, dict]) -> dict:
    """``{level name: object schema}`` → one object schema: every property of any level (in
    the order the levels first show them), required where every level requires it, nullable
    where any level allows null; a property not shown at every level says at which it is."""
    properties: dict[str, dict] = {}
    shown_at: dict[str, list[str]] = {}
    for level, schema in levels.items():
        for name, prop in schema.get("properties", {}).items():
            shown_at.setdefault(name, []).append(level)
            seen = properties.get(name)
            if seen is None:
                properties[name] = dict(prop)
                continue
            if _type_of(seen) != _type_of(prop):
                raise ValueError(f"{name!r} has a different type at the {level} level")
            if prop.get("nullable"):
                seen["nullable"] = True
    required_sets = [set(schema.get("required", ())) for schema in levels.values()]
    required = set.intersection(*required_sets) if required_sets else set()
    for name, at in shown_at.items():
        if len(at) < len(levels):
            note = f"Shown at the {', '.join(at)} level{'s' if len(at) > 1 else ''} only."
            text = properties[name].get("description")
            properties[name]["description"] = f"{text} {note}" if text else note
    merged = {"type": "object", "properties": properties}
    if required:
        merged["required"] = sorted(required)
    return merged


class ByTierSerializerExtension(PolymorphicProxySerializerExtension):
    target_class = ByTierSerializer
    priority = 0  # before drf-spectacular's own extension for the parent class

    def map_serializer(self, auto_schema, direction):
        levels = {
            level: auto_schema._map_serializer(self._prep_serializer(serializer), direction)
            for level, serializer in self.target.serializers.items()
        }
        merged = merge_levels(levels)
        merged["description"] = (
            "At the caller's level of detail ("
            + ", ".join(levels)
            + "): a field the caller's level does not show is absent."
        )
        return merged


# A JSON column of free-form content (an audit record's before and after, a run's figures):
# documented as an object whose keys are its content, rather than as a value of any type.
FREE_FORM_OBJECT = {"type": "object", "additionalProperties": True}


def documented_json(schema, **kwargs) -> serializers.JSONField:
    """A JSON column's field, output as stored (as ``ModelSerializer`` maps it), documented as
    ``schema``: a serializer (a component), a field, or a schema dict."""
    cls = extend_schema_field(schema)(type("DocumentedJSONField", (serializers.JSONField,), {}))
    return cls(read_only=True, **kwargs)


def file_download(description: str) -> dict:
    """``extend_schema`` responses of a stored file's download: the bytes, in the content type
    the upload was sniffed as (apps.core.files: PDF, PNG or JPEG). ``application/octet-stream``
    is listed first, for generated clients: openapi-python-client reads a download as a file
    only under that name (with only the others it warns and leaves the response out)."""
    return {
        (200, content_type): OpenApiResponse(OpenApiTypes.BINARY, description=description)
        for content_type in ("application/octet-stream", *MAGIC)
    }
