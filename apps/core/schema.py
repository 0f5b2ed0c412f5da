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
  its organization) is documented with ``AnyOfSerializer`` as ``anyOf`` its shapes.
"""

import re

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.serializers import PolymorphicProxySerializerExtension
from drf_spectacular.utils import PolymorphicProxySerializer

from apps.core.problems import PROBLEM_CONTENT_TYPE
from apps.core.routers import INTEGER_LOOKUP, UUID_LOOKUP

# The router's id patterns (apps.core.routers), documented as the types they stand for.
LOOKUP_TYPES = {
    f"^{UUID_LOOKUP}$": {"type": "string", "format": "uuid"},
    f"^{INTEGER_LOOKUP}$": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
}


class AutoSchema(SpectacularAutoSchema):
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


class AnyOfSerializer(PolymorphicProxySerializer):
    """For ``extend_schema`` only: a response in any of several shapes, each a superset of the
    next (the levels of detail of one resource). Documented as ``anyOf``: with ``oneOf`` a
    fuller shape, which also matches the smaller ones, would be invalid."""

    def __init__(self, component_name, serializers, **kwargs):
        kwargs.setdefault("resource_type_field_name", None)
        super().__init__(component_name, serializers, **kwargs)


class AnyOfSerializerExtension(PolymorphicProxySerializerExtension):
    target_class = AnyOfSerializer
    priority = 0  # before drf-spectacular's own extension for the parent class

    def map_serializer(self, auto_schema, direction):
        schema = super().map_serializer(auto_schema, direction)
        return {"anyOf": schema.pop("oneOf"), **schema}
