"""Deeply nested JSON is refused with a 400 problem before anything recursive runs."""

import json

import pytest

from apps.core.parsers import json_depth_exceeds
from apps.organizations.models import Organization
from tests.factories.accounts import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _assert_too_deep(response):
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 400
    assert body["code"] == "parse_error"
    assert "nested deeper than 32" in body["detail"]


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_an_anonymous_deeply_nested_body_is_a_400_problem(anon, depth):
    response = anon.post("/api/v1/auth/token", _nested(depth), content_type="application/json")

    _assert_too_deep(response)


def test_a_deep_value_inside_an_object_is_refused_and_nothing_is_written(donor_client):
    body = '{"name": "Deep Relief", "kind": "ngo", "principals": ' + _nested(5000) + "}"

    _assert_too_deep(
        donor_client.post("/api/v1/organizations/", body, content_type="application/json")
    )
    assert not Organization.objects.exists()


def test_depth_up_to_the_limit_reaches_validation(anon):
    at_limit = json.dumps({"email": json.loads(_nested(31)), "password": "x"})  # 32 levels
    over = json.dumps({"email": json.loads(_nested(32)), "password": "x"})  # 33 levels

    response = anon.post("/api/v1/auth/token", at_limit, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "email" in response.json()["errors"]
    _assert_too_deep(anon.post("/api/v1/auth/token", over, content_type="application/json"))


def test_normal_bodies_still_work_brackets_inside_strings_included(anon, donor_client):
    user = UserFactory(email="nested@example.org")
    signed_in = anon.post(
        "/api/v1/auth/token",
        {"email": user.email, "password": PASSWORD},
        format="json",
    )
    assert signed_in.status_code == 201

    name = "[{" * 40 + ' "quoted \\" ' + "}]" * 40
    created = donor_client.post(
        "/api/v1/organizations/",
        {"name": name[:200], "kind": "ngo", "afghan_led": True},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["name"] == name[:200]


@pytest.mark.parametrize(
    ("text", "exceeds"),
    [
        (_nested(32), False),
        (_nested(33), True),
        ('{"a": "' + "[" * 100 + '"}', False),  # brackets in a string
        ('["\\"' + "[" * 100 + '"]', False),  # an escaped quote does not end the string
        ('["\\\\", ' + _nested(40) + "]", True),  # an escaped backslash does
        ('{"a":' * 33 + "1" + "}" * 33, True),
        ("[" + ",".join(["[1]"] * 1000) + "]", False),  # wide, not deep
    ],
)
def test_the_depth_scan(text, exceeds):
    assert json_depth_exceeds(text, 32) is exceeds


def test_django_views_outside_the_api_parse_their_own_bodies(client):
    """The depth check is a DRF parser: the admin's form login is not touched by it."""
    UserFactory(email="staff@example.org", is_staff=True, is_superuser=True)

    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "staff@example.org", "password": PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
