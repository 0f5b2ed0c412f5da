"""The webhook-endpoints API: who may create and see which endpoint, what is validated, the
secret shown once, rotation, enable/disable, the delivery log."""

import pytest

from aidmatch.access import MemberRole
from apps.webhooks.models import OwnerKind, WebhookEndpoint
from tests.conftest import client_for
from tests.factories import ApiKeyFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhook-endpoints/"
HOOK = "https://hooks.example.org/aidmatch"


def create(client, **body):
    return client.post(URL, {"url": HOOK, **body}, format="json")


def test_a_donor_creates_an_endpoint_and_sees_its_secret_once(donor_client):
    created = create(donor_client, description="my app", event_types=["pledge.created"])
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["owner_kind"] == "donor" and body["event_types"] == ["pledge.created"]
    assert created["Location"].endswith(f"{URL}{body['id']}/") or created.has_header("Location")
    shown = donor_client.get(f"{URL}{body['id']}/")
    assert shown.status_code == 200 and "secret" not in shown.json()
    stored = WebhookEndpoint.objects.get(pk=body["id"])
    assert stored.secret == body["secret"]
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_webhookendpoint WHERE id = %s", [stored.pk])
        (raw,) = cursor.fetchone()
    assert body["secret"] not in raw  # encrypted at rest


def test_plain_http_is_refused_unless_allowed(donor_client, settings):
    refused = create(donor_client, url="http://hooks.example.org/x")
    assert refused.status_code == 400
    assert refused["Content-Type"].startswith("application/problem+json")
    assert "url" in refused.json()["errors"]
    settings.WEBHOOKS_ALLOW_HTTP = True
    assert create(donor_client, url="http://hooks.example.org/x").status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"event_types": ["pledge.exploded"]},
        {"event_types": "pledge.created"},
        {"url": "ftp://hooks.example.org/x"},
        {"url": "https://user:pw@hooks.example.org/x"},
        {"url": "not a url"},
        {"surprise": 1},
    ],
)
def test_bad_input_is_a_400_and_writes_nothing(donor_client, body):
    response = create(donor_client, **body)
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert WebhookEndpoint.objects.count() == 0


def test_another_owners_endpoint_is_a_404(donor_client):
    other = client_for(UserFactory())
    endpoint_id = create(other).json()["id"]
    for response in (
        donor_client.get(f"{URL}{endpoint_id}/"),
        donor_client.patch(f"{URL}{endpoint_id}/", {"description": "x"}, format="json"),
        donor_client.delete(f"{URL}{endpoint_id}/"),
        donor_client.post(f"{URL}{endpoint_id}/rotate-secret"),
        donor_client.post(f"{URL}{endpoint_id}/disable"),
        donor_client.get(f"{URL}{endpoint_id}/deliveries"),
    ):
        assert response.status_code == 404, response.content
    assert donor_client.get(URL).json()["results"] == []


def test_organization_endpoints_are_for_admins_and_scoped_keys(org_x, admin_x, staff_x, admin_y):
    as_admin = create(client_for(admin_x), organization=str(org_x.pk))
    assert as_admin.status_code == 201, as_admin.content
    assert as_admin.json()["owner_kind"] == "organization"
    assert create(client_for(staff_x), organization=str(org_x.pk)).status_code == 403
    assert create(client_for(admin_y), organization=str(org_x.pk)).status_code == 403
    assert client_for(admin_y).get(f"{URL}{as_admin.json()['id']}/").status_code == 404

    _, read_only = ApiKeyFactory.create(organization=org_x, scopes=["webhooks:read"])
    _, writer = ApiKeyFactory.create(organization=org_x, scopes=["webhooks:write"])
    _, unrelated = ApiKeyFactory.create(organization=org_x, scopes=["needs:read"])
    assert create(client_for(api_key=read_only)).status_code == 403
    assert create(client_for(api_key=unrelated)).status_code == 403
    by_key = create(client_for(api_key=writer))
    assert by_key.status_code == 201 and by_key.json()["organization"] == str(org_x.pk)
    listed = client_for(api_key=read_only).get(URL).json()["results"]
    assert {e["id"] for e in listed} == {as_admin.json()["id"], by_key.json()["id"]}


def test_a_verifier_endpoint_hears_everything(verifier_client):
    body = create(verifier_client).json()
    assert body["owner_kind"] == OwnerKind.VERIFIER


def test_rotation_disable_enable_update_delete(donor_client):
    created = create(donor_client).json()
    path = f"{URL}{created['id']}/"
    rotated = donor_client.post(f"{path}rotate-secret")
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != created["secret"]
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert endpoint.signing_secrets() == [rotated.json()["secret"], created["secret"]]

    disabled = donor_client.post(f"{path}disable", {"reason": "maintenance"}, format="json")
    assert disabled.json()["enabled"] is False and disabled.json()["disabled_reason"]
    assert donor_client.post(f"{path}test").status_code == 409
    enabled = donor_client.post(f"{path}enable")
    assert enabled.json()["enabled"] is True and enabled.json()["disabled_reason"] == ""

    patched = donor_client.patch(path, {"event_types": ["need.funded"]}, format="json")
    assert patched.status_code == 200 and patched.json()["event_types"] == ["need.funded"]
    bad = donor_client.patch(path, {"event_types": ["nope"]}, format="json")
    assert bad.status_code == 400
    assert donor_client.delete(path).status_code == 204
    assert not WebhookEndpoint.objects.filter(pk=created["id"]).exists()


def test_create_is_idempotent(donor_client):
    headers = {"HTTP_IDEMPOTENCY_KEY": "wh-1"}
    first = donor_client.post(URL, {"url": HOOK}, format="json", **headers)
    again = donor_client.post(URL, {"url": HOOK}, format="json", **headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert WebhookEndpoint.objects.count() == 1


def test_the_schema_types_the_endpoints(anon):
    schema = anon.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert "/api/v1/webhook-endpoints/{id}/rotate-secret/" in paths
    created = paths["/api/v1/webhook-endpoints/"]["post"]["responses"]["201"]
    ref = created["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "secret" in schema["components"]["schemas"][ref]["properties"]
    listed = paths["/api/v1/webhook-endpoints/{id}/deliveries/"]["get"]["responses"]["200"]
    assert "$ref" in str(listed)


def test_member_roles_are_what_the_factory_says(org_x, admin_x):
    assert MembershipFactory._meta.model.objects.get(user=admin_x).role == MemberRole.ADMIN
