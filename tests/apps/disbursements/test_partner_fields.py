"""A donor's own ids and notes on its tranches: metadata and external_reference, set when the
donor schedules a tranche and by PATCH, unique per donor, filterable, shown to the donor's side
only (never to the receiving organization)."""

import pytest

from apps.audit.models import AuditEvent
from apps.disbursements.models import Disbursement
from tests.apps.disbursements import test_api
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

story = test_api.story  # the fixture: a committed allocation of 800 USD to an AFN need
_tranche = test_api._tranche

META = {"erp_voucher": "V-2026-118", "hawala.batch": "7"}


def test_set_when_scheduled_and_shown_to_the_donor_only(story, donor_client, verifier_client):
    _org, staff, _need, _pledge, allocation = story

    created = _tranche(donor_client, allocation, metadata=META, external_reference="TR-1")

    assert created.status_code == 201, created.content
    assert created.json()["metadata"] == META and created.json()["external_reference"] == "TR-1"
    tranche_id = created.json()["id"]
    (row,) = donor_client.get("/api/v1/disbursements/").json()["results"]
    assert row["metadata"] == META and row["external_reference"] == "TR-1"
    for other in (client_for(staff), verifier_client):
        body = other.get(f"/api/v1/disbursements/{tranche_id}").json()
        (row,) = other.get("/api/v1/disbursements/").json()["results"]
        for shown in (body, row):
            assert shown["id"] == tranche_id
            assert "metadata" not in shown and "external_reference" not in shown
    # the receiving organization's own actions answer without them too
    sent = donor_client.post(f"/api/v1/disbursements/{tranche_id}/mark-sent", {}, format="json")
    assert sent.status_code == 200 and sent.json()["external_reference"] == "TR-1"
    confirmed = client_for(staff).post(
        f"/api/v1/disbursements/{tranche_id}/confirm-receipt",
        {"received_amount": "34000.00", "received_currency": "AFN", "difference_reason": "fee"},
        format="json",
    )
    assert confirmed.status_code == 200, confirmed.content
    assert "metadata" not in confirmed.json() and "external_reference" not in confirmed.json()
    trail = AuditEvent.objects.get(action="disbursement.create", object_id=tranche_id)
    assert "metadata" not in trail.after and "external_reference" not in trail.after
    assert trail.detail["creator_fields_set"] == ["external_reference", "metadata"]


def test_a_reference_used_twice_is_a_409_naming_the_tranche(story, donor_client):
    *_, allocation = story
    first = _tranche(donor_client, allocation, amount="100.00", external_reference="TR-1").json()

    again = _tranche(donor_client, allocation, amount="100.00", external_reference="TR-1")

    assert again.status_code == 409
    assert again.json()["code"] == "external_reference_taken"
    assert again.json()["existing_id"] == first["id"]
    assert Disbursement.objects.count() == 1
    allocation.refresh_from_db()
    assert allocation.disbursed_amount == 100  # the refused tranche moved nothing


def test_patch_sets_them_for_the_donor_only(story, donor_client, verifier_client):
    _org, staff, _need, _pledge, allocation = story
    first = _tranche(donor_client, allocation, amount="100.00", external_reference="TR-1").json()
    second = _tranche(donor_client, allocation, amount="100.00").json()
    url = f"/api/v1/disbursements/{second['id']}"

    changed = donor_client.patch(
        url, {"metadata": META, "external_reference": "TR-2"}, format="json"
    )

    assert changed.status_code == 200, changed.content
    assert changed.json()["metadata"] == META and changed.json()["external_reference"] == "TR-2"
    assert (
        donor_client.get("/api/v1/disbursements/?external_reference=TR-2").json()["results"][0][
            "id"
        ]
        == second["id"]
    )
    taken = donor_client.patch(url, {"external_reference": "TR-1"}, format="json")
    assert taken.status_code == 409 and taken.json()["existing_id"] == first["id"]
    for other, status in ((client_for(staff), 403), (verifier_client, 403)):
        assert other.patch(url, {"metadata": {}}, format="json").status_code == status
        assert other.get("/api/v1/disbursements/?external_reference=TR-2").json()["results"] == []
    assert client_for(UserFactory()).patch(url, {"metadata": {}}, format="json").status_code == 404
    assert donor_client.patch(url, {"amount": "1.00"}, format="json").status_code == 400
    assert donor_client.patch(url, {}, format="json").status_code == 400
    assert Disbursement.objects.get(pk=second["id"]).metadata == META
