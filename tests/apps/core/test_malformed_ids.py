"""Every detail route answers a malformed id with a 404 problem, never a 500 (nor a 400).

The routes are found by walking the URLconf, so a route added later is covered too: each
path parameter is replaced by a value its column cannot hold, and each method the route
serves is called by a verifier who is also an organization's admin (the caller who may see
the most, so that no 401, 403 or 405 answers before the lookup)."""

import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from aidmatch.access import MemberRole, PlatformRole
from tests.conftest import client_for
from tests.factories import MembershipFactory, UserFactory

MALFORMED = {
    "word": "abc",
    "too_long_number": "9" * 40,
    "too_long_string": "a" * 300,
    "uuid_and_more": f"{uuid.UUID(int=1)}0",
}
METHODS = ("get", "post", "put", "patch", "delete")


def _template(pattern) -> str:
    """The route as text with ``{name}`` where each parameter goes."""
    text = str(pattern)
    if isinstance(pattern, RoutePattern):
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", text)
    out, i = "", 0
    while i < len(text):
        if text.startswith("(?P<", i):
            name = text[i + 4 : text.index(">", i)]
            depth, j = 0, i
            while True:  # to the group's closing parenthesis
                depth += {"(": 1, ")": -1}.get(text[j], 0) if text[j - 1] != "\\" else 0
                j += 1
                if depth == 0:
                    break
            out, i = out + "{" + name + "}", j
        else:
            out, i = out + text[i], i + 1
    return out.replace("/?", "/").removeprefix("^").removesuffix("$")


def _routes(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _routes(entry, prefix + _template(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + _template(entry.pattern), entry.callback


def _methods(callback) -> list[str]:
    if getattr(callback, "actions", None):  # a viewset's route
        return [m for m in callback.actions if m in METHODS]
    view_class = getattr(callback, "view_class", None)
    return [m for m in METHODS if view_class is not None and hasattr(view_class, m)]


DETAIL_ROUTES = [
    (route, method)
    for route, callback in _routes(get_resolver())
    if route.startswith("api/") and "{" in route
    for method in _methods(callback)
]


def test_the_walk_finds_the_detail_routes():
    routes = {route for route, _ in DETAIL_ROUTES}
    assert "api/v1/screening-hits/{pk}/clear/" in routes
    assert "api/v1/organizations/{pk}/documents/{document_id}" in routes
    assert len(routes) > 30


@pytest.fixture
def insider(db):
    user = UserFactory(platform_role=PlatformRole.VERIFIER)
    MembershipFactory(user=user, role=MemberRole.ADMIN)
    return client_for(user)


@pytest.mark.parametrize("value", list(MALFORMED.values()), ids=list(MALFORMED))
@pytest.mark.parametrize(("route", "method"), DETAIL_ROUTES, ids=lambda x: x)
def test_a_malformed_id_is_a_404_problem(insider, route, method, value):
    url = "/" + route.format(**dict.fromkeys(re.findall(r"{(\w+)}", route), value))
    response = getattr(insider, method)(url, {}, format="json")
    assert response.status_code == 404, (url, response.content[:300])
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"
