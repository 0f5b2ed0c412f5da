"""Unknown paths under /api/ answer a problem+json 404, with DEBUG on and off."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("method", ["get", "post", "delete"])
@pytest.mark.parametrize(
    "path", ["/api/v1/nope", "/api/nope", "/api/v1/needs/x/y/z", "/api/", "/api"]
)
def test_an_unknown_api_path_is_a_problem_404(client, settings, debug, method, path):
    settings.DEBUG = debug

    response = getattr(client, method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404
    assert body["title"] == "Not found"
    assert body["type"].startswith("https://")


def test_known_api_paths_still_answer(client):
    assert client.get("/api/v1/needs/").status_code == 200
    assert client.get("/api/schema/").status_code == 200
