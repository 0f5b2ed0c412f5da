"""CORS (django-cors-headers): browsers may call the API from the configured origins only."""

import uuid

import pytest
from rest_framework.test import APIClient

from tests.conftest import client_for

pytestmark = pytest.mark.django_db

ALLOWED = "https://partner.example.org"


@pytest.fixture
def cors(settings):
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED, "http://localhost:5173"]


def _preflight(origin: str, method: str = "POST", headers: str = ""):
    return APIClient().options(
        "/api/v1/pledges/",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers,
    )


def test_a_preflight_from_an_allowed_origin_may_send_the_api_headers(cors):
    response = _preflight(ALLOWED, headers="authorization, content-type, idempotency-key, if-match")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "if-match"} <= allowed
    methods = {m.strip() for m in response["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "PATCH", "DELETE"} <= methods
    assert "Access-Control-Allow-Credentials" not in response  # tokens travel in a header


def test_a_response_to_an_allowed_origin_exposes_what_clients_read(cors, donor):
    client = client_for(donor)
    body = {"amount": "10.00", "currency": "USD"}
    key = str(uuid.uuid4())
    client.post("/api/v1/pledges/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)

    replay = client.post(
        "/api/v1/pledges/", body, format="json", HTTP_IDEMPOTENCY_KEY=key, HTTP_ORIGIN=ALLOWED
    )

    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay["Access-Control-Allow-Origin"] == ALLOWED
    exposed = {h.strip().lower() for h in replay["Access-Control-Expose-Headers"].split(",")}
    assert {"location", "idempotent-replayed", "retry-after", "etag", "x-request-id"} <= exposed


@pytest.mark.parametrize("origin", ["https://evil.example", "https://partner.example.org.evil"])
def test_another_origin_gets_no_cors_headers(cors, origin):
    preflight = _preflight(origin, headers="authorization")
    plain = APIClient().get("/api/v1/needs/", HTTP_ORIGIN=origin)

    assert plain.status_code == 200
    for response in (preflight, plain):
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]


def test_no_origin_is_allowed_by_default():
    response = _preflight(ALLOWED, headers="authorization")

    assert "Access-Control-Allow-Origin" not in response
