"""State changes made through the API are audited in their own transaction: who (and with
which token), what, before/after, the request id; a refused change leaves no event."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.needs.models import Need
from apps.needs.tasks import expire_overdue_needs
from tests.conftest import client_for
from tests.factories import NeedFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

IN_A_MONTH = (timezone.now().date() + timedelta(days=30)).isoformat()
NEED = {
    "title": "Winter food packages, Paghman",
    "sector": "food_security",
    "province": "AF01",
    "location_detail": "Collection point at the school gate",
    "currency": "USD",
    "amount": "1000.00",
    "urgency": 5,
    "deadline": IN_A_MONTH,
}


def _events(**filters):
    return list(AuditEvent.objects.filter(**filters).order_by("id"))


def test_a_need_s_lifecycle_is_audited_with_actor_token_and_request_id(
    org_x, staff_x, verifier, verifier_client
):
    staff = client_for(staff_x)
    created = staff.post("/api/v1/needs/", NEED, format="json", HTTP_X_REQUEST_ID="req-create-1")
    assert created.status_code == 201, created.content
    need_id = created.json()["id"]
    assert staff.post(f"/api/v1/needs/{need_id}/submit").status_code == 200
    assert verifier_client.post(f"/api/v1/needs/{need_id}/approve").status_code == 200

    create, submit, approve = _events(object_id=need_id, action__startswith="need.")
    reads = _events(object_id=need_id, action="confidential.read")
    assert len(reads) == 3  # each response showed the exact location to its caller
    assert (create.action, submit.action, approve.action) == (
        "need.create",
        "need.submit",
        "need.approve",
    )
    assert create.actor == f"user:{staff_x.pk}" and create.actor_label == staff_x.email
    assert create.via.startswith("token:") and len(create.via) == len("token:") + 16
    assert create.request_id == "req-create-1"
    assert create.after["status"] == "draft" and create.after["amount"] == "1000.0000"
    assert create.detail["confidential_fields_set"] == ["location_detail"]
    assert (submit.before, submit.after) == ({"status": "draft"}, {"status": "submitted"})
    assert approve.actor == f"user:{verifier.pk}"
    assert approve.after == {"status": "open"}
    assert "Collection point" not in json.dumps([e.hashed_fields() for e in _events()])


def test_a_refused_change_leaves_no_event(verifier_client):
    pending = OrganizationFactory(status="pending")
    need = NeedFactory(organization=pending, status="submitted")

    response = verifier_client.post(f"/api/v1/needs/{need.pk}/approve")

    assert response.status_code == 422
    assert _events(action="need.approve") == []


def test_a_stale_edit_leaves_no_event(org_x, staff_x):
    need = NeedFactory(organization=org_x, status="draft")
    response = client_for(staff_x).patch(
        f"/api/v1/needs/{need.pk}", {"urgency": 1}, format="json", HTTP_IF_MATCH='"99"'
    )
    assert response.status_code == 412
    assert _events(action="need.update") == []


def test_an_edit_records_changed_fields_and_names_confidential_ones(org_x, admin_x):
    response = client_for(admin_x).patch(
        f"/api/v1/organizations/{org_x.pk}",
        {"contact_phone": "+93 70 999 1234", "registry": "Ministry of Economy"},
        format="json",
    )
    assert response.status_code == 200, response.content

    (event,) = _events(action="organization.update")
    assert event.after == {"registry": "Ministry of Economy"}
    assert event.before == {"registry": ""}
    assert event.detail == {"confidential_fields_changed": ["contact_phone"]}
    assert "999 1234" not in json.dumps(event.hashed_fields())


def test_vetting_keys_members_and_tokens_are_audited(org_x, admin_x, verifier_client, verifier):
    admin = client_for(admin_x)
    assert (
        verifier_client.post(
            f"/api/v1/organizations/{org_x.pk}/suspend", {"reason": "documents expired"}
        ).status_code
        == 200
    )
    key = admin.post(
        "/api/v1/api-keys/",
        {"organization": str(org_x.pk), "name": "app", "scopes": ["needs:read"]},
        format="json",
    ).json()
    assert admin.post(f"/api/v1/api-keys/{key['id']}/revoke").status_code == 200
    assert admin.post("/api/v1/auth/token/revoke").status_code == 204

    (suspend,) = _events(action="organization.suspend")
    assert suspend.actor == f"user:{verifier.pk}"
    assert (suspend.before, suspend.after) == ({"status": "verified"}, {"status": "suspended"})
    assert suspend.detail["reason"] == "documents expired"
    created, revoked = _events(object_type="apikey")
    assert (created.action, revoked.action) == ("api_key.create", "api_key.revoke")
    assert created.object_id == key["id"]
    assert created.after["scopes"] == ["needs:read"]
    assert key["key"].split(".")[-1] not in json.dumps(created.hashed_fields())
    assert "hashed_key" not in created.after
    (token,) = _events(action="token.revoke")
    assert token.actor == f"user:{admin_x.pk}" and token.via == f"token:{token.object_id}"


def test_pledges_are_audited(donor, donor_client):
    made = donor_client.post(
        "/api/v1/pledges/", {"amount": "500.00", "currency": "USD"}, format="json"
    )
    assert made.status_code == 201, made.content
    pledge_id = made.json()["id"]
    assert (
        donor_client.patch(
            f"/api/v1/pledges/{pledge_id}", {"amount": "400.00"}, format="json"
        ).status_code
        == 200
    )
    assert donor_client.post(f"/api/v1/pledges/{pledge_id}/withdraw").status_code == 200

    create, reduce, withdraw = _events(object_type="pledge", object_id=pledge_id)
    assert [e.action for e in (create, reduce, withdraw)] == [
        "pledge.create",
        "pledge.reduce",
        "pledge.withdraw",
    ]
    assert (reduce.before["amount"], reduce.after["amount"]) == ("500.0000", "400.0000")
    assert withdraw.after["status"] == "withdrawn"
    assert {e.actor for e in (create, reduce, withdraw)} == {f"user:{donor.pk}"}


def test_celery_tasks_act_as_system(org_x):
    overdue = NeedFactory(organization=org_x)
    Need.objects.filter(pk=overdue.pk).update(deadline=timezone.now().date() - timedelta(days=1))

    expire_overdue_needs.delay()

    (event,) = _events(action="need.expire")
    assert event.actor == "system"
    assert event.via == "task:apps.needs.tasks.expire_overdue_needs"
