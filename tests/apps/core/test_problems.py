"""Bad input gets a 4xx application/problem+json body and writes nothing."""

import pytest

from apps.organizations.models import Organization

pytestmark = pytest.mark.django_db

VALID = {"name": "Ghazni Food Bank", "kind": "food_distributor", "afghan_led": True}


def _assert_problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    return body


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({**VALID, "kind": "militia"}, "kind"),
        ({**VALID, "afghan_led": "perhaps"}, "afghan_led"),
        ({**VALID, "province": "AF99"}, "province"),
        ({**VALID, "province": "'; DROP TABLE organizations_organization; --"}, "province"),
        ({**VALID, "name": ""}, "name"),
        ({**VALID, "name": "x" * 201}, "name"),
        ({**VALID, "name": "nul\x00byte"}, "name"),
        ({**VALID, "contact_email": "<script>alert(1)</script>"}, "contact_email"),
        ({**VALID, "principals": "Farid"}, "principals"),
        ({**VALID, "principals": [{"name": "Farid"}]}, "principals.0.role"),
        ({**VALID, "is_admin": True}, "is_admin"),
        ({k: v for k, v in VALID.items() if k != "kind"}, "kind"),
    ],
)
def test_invalid_fields_are_named_and_nothing_is_written(donor_client, payload, field):
    response = donor_client.post("/api/v1/organizations/", payload, format="json")

    body = _assert_problem(response, 400)
    assert field in body["errors"], body
    assert not Organization.objects.exists()


def test_html_looking_names_are_stored_as_text_not_interpreted(donor_client):
    response = donor_client.post(
        "/api/v1/organizations/", {**VALID, "name": "<b>Relief</b> & Co"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["name"] == "<b>Relief</b> & Co"
    assert response["Content-Type"] == "application/json"


def test_malformed_json_is_a_400_problem(donor_client):
    response = donor_client.post(
        "/api/v1/organizations/", data='{"name": ', content_type="application/json"
    )

    _assert_problem(response, 400)
    assert not Organization.objects.exists()


def test_a_json_array_instead_of_an_object_is_a_400(donor_client):
    response = donor_client.post(
        "/api/v1/organizations/", data="[1, 2]", content_type="application/json"
    )

    _assert_problem(response, 400)


def test_other_media_types_are_a_415(donor_client):
    response = donor_client.post("/api/v1/organizations/", data="name=x", content_type="text/plain")

    _assert_problem(response, 415)


def test_a_huge_body_is_a_413_and_writes_nothing(donor_client, settings):
    big = {**VALID, "address": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)}

    response = donor_client.post("/api/v1/organizations/", big, format="json")

    _assert_problem(response, 413)
    assert not Organization.objects.exists()


def test_unknown_url_is_a_404_problem(donor_client):
    response = donor_client.get("/api/v1/nothing-here/")

    _assert_problem(response, 404)


def test_a_malformed_uuid_in_the_path_is_a_404(donor_client):
    response = donor_client.get("/api/v1/organizations/not-a-uuid")

    _assert_problem(response, 404)


def test_unknown_filter_values_are_a_400(donor_client):
    response = donor_client.get("/api/v1/organizations/", {"status": "imaginary"})

    body = _assert_problem(response, 400)
    assert "status" in body["errors"]


def test_a_bad_cursor_is_a_404_problem(donor_client):
    response = donor_client.get("/api/v1/organizations/", {"cursor": "garbage"})

    _assert_problem(response, 404)


def test_missing_credentials_are_a_401_with_a_challenge(anon):
    response = anon.get("/api/v1/organizations/")

    _assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
