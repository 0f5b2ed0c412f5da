"""The README names every resource of the API (public/funding-summary was missing from it)."""

import re
from pathlib import Path

from django.urls import URLResolver, get_resolver

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _routes(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern)


def test_every_resource_of_the_api_is_named_in_the_readme():
    """Each first segment of a path under /api/v1/ (`needs/`, `public/`, `auth/`, …) appears in
    the README, as `segment/`."""
    resources = {
        route.removeprefix("api/v1/").lstrip("^").split("/")[0]
        for route in _routes(get_resolver().url_patterns)
        if route.startswith("api/v1/")
    }
    assert {"needs", "public", "reference"} <= resources
    missing = sorted(r for r in resources if not re.search(rf"(^|[\s`/]){re.escape(r)}/", README))
    assert missing == []
