"""A donor's own ids and notes on its pledges: metadata and external_reference, set at creation
and by PATCH, unique per donor, filterable, and shown to the donor's side only."""

import uuid

import pytest

from aidmatch.access import MemberRole
from apps.audit.models import AuditEvent
from apps.pledges.models import Pledge
from tests.conftest import client_for
from tests.factories import (
    ApiKeyFactory,
    MembershipFactory,
    OrganizationFactory,
    PledgeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

BASE = {"amount": "100.00", "currency": "USD"}
META = {"crm_id": "C-1042", "campaign": "winter.2026", "owner-team": "north_desk"}


def _post(client, **extra):
    return client.post("/api/v1/pledges/", {**BASE, **extra}, format="json")


def test_set_at_creation_and_shown_to_the_donor_only(donor_client, verifier_client):
    created = _post(donor_client, metadata=META, external_reference="PL-2026-0001")

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["metadata"] == META and body["external_reference"] == "PL-2026-0001"
    pledge_id = body["id"]
    for shown in (
        donor_client.get(f"/api/v1/pledges/{pledge_id}").json(),
        donor_client.get("/api/v1/pledges/").json()["results"][0],
    ):
        assert shown["metadata"] == META and shown["external_reference"] == "PL-2026-0001"
    # a verifier sees the pledge, never the donor's own fields
    for seen in (
        verifier_client.get(f"/api/v1/pledges/{pledge_id}").json(),
        verifier_client.get("/api/v1/pledges/").json()["results"][0],
    ):
        assert seen["id"] == pledge_id
        assert "metadata" not in seen and "external_reference" not in seen
    # nor does the audit trail (which verifiers read) carry their values
    trail = AuditEvent.objects.filter(action="pledge.create", object_id=pledge_id).get()
    assert "metadata" not in trail.after and "external_reference" not in trail.after
    assert "C-1042" not in str(trail.detail) and "PL-2026-0001" not in str(trail.detail)
    assert trail.detail["creator_fields_set"] == ["external_reference", "metadata"]


def test_without_them_a_pledge_shows_empty_values(donor_client):
    body = _post(donor_client).json()

    assert body["metadata"] == {} and body["external_reference"] is None


def test_a_reference_used_twice_by_one_donor_is_a_409_naming_the_pledge(donor_client):
    first = _post(donor_client, external_reference="PL-7").json()

    again = _post(donor_client, external_reference="PL-7", metadata={"a": "b"})

    assert again.status_code == 409
    assert again["Content-Type"] == "application/problem+json"
    problem = again.json()
    assert problem["code"] == "external_reference_taken"
    assert problem["existing_id"] == first["id"] and first["id"] in problem["detail"]
    assert Pledge.objects.count() == 1
    # with an Idempotency-Key too: nothing written, nothing stored to replay
    keyed = donor_client.post(
        "/api/v1/pledges/",
        {**BASE, "external_reference": "PL-7"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert keyed.status_code == 409 and keyed.json()["existing_id"] == first["id"]
    assert Pledge.objects.count() == 1


def test_another_donor_may_use_the_same_reference(donor_client):
    _post(donor_client, external_reference="PL-7")
    other = client_for(UserFactory())
    institution = OrganizationFactory(kind="donor_institution")
    _, key = ApiKeyFactory.create(
        organization=institution, scopes=["pledges:write", "pledges:read"]
    )

    assert _post(other, external_reference="PL-7").status_code == 201
    by_key = client_for(api_key=key)
    assert _post(by_key, external_reference="PL-7").status_code == 201
    assert _post(by_key, external_reference="PL-7").status_code == 409
    assert by_key.get("/api/v1/pledges/").json()["results"][0]["external_reference"] == "PL-7"


def test_the_list_filters_by_reference_among_the_callers_own(donor, donor_client, verifier_client):
    mine = _post(donor_client, external_reference="PL-A").json()
    _post(donor_client, external_reference="PL-B")

    found = donor_client.get("/api/v1/pledges/?external_reference=PL-A").json()["results"]

    assert [p["id"] for p in found] == [mine["id"]]
    # a verifier cannot look a donor's ids up
    assert verifier_client.get("/api/v1/pledges/?external_reference=PL-A").json()["results"] == []
    too_long = donor_client.get("/api/v1/pledges/?external_reference=" + "x" * 101)
    assert too_long.status_code == 400


def test_patch_sets_replaces_and_clears_them(donor_client):
    pledge = _post(donor_client, metadata=META, external_reference="PL-1").json()
    url = f"/api/v1/pledges/{pledge['id']}"

    changed = donor_client.patch(
        url, {"metadata": {"crm_id": "C-2"}, "external_reference": "PL-2"}, format="json"
    )

    assert changed.status_code == 200, changed.content
    assert changed.json()["metadata"] == {"crm_id": "C-2"}  # replaced whole
    assert changed.json()["external_reference"] == "PL-2"
    assert changed.json()["amount"] == "100.00"
    cleared = donor_client.patch(url, {"metadata": {}, "external_reference": None}, format="json")
    assert cleared.json()["metadata"] == {} and cleared.json()["external_reference"] is None
    row = Pledge.objects.get(pk=pledge["id"])
    assert row.metadata == {} and row.external_reference is None
    trail = AuditEvent.objects.filter(action="pledge.annotate", object_id=pledge["id"])
    assert [e.detail["creator_fields_changed"] for e in trail.order_by("id")] == [
        ["metadata", "external_reference"],
        ["metadata", "external_reference"],
    ]
    assert all("C-2" not in str(e.detail) for e in trail)


def test_patch_with_an_amount_and_a_reference_does_both(donor_client):
    pledge = _post(donor_client).json()

    changed = donor_client.patch(
        f"/api/v1/pledges/{pledge['id']}",
        {"amount": "60.00", "external_reference": "PL-9"},
        format="json",
    )

    assert changed.status_code == 200, changed.content
    assert changed.json()["amount"] == "60.00" and changed.json()["external_reference"] == "PL-9"


def test_patch_to_a_taken_reference_is_a_409_and_changes_nothing(donor_client):
    first = _post(donor_client, external_reference="PL-1").json()
    second = _post(donor_client, external_reference="PL-2").json()

    response = donor_client.patch(
        f"/api/v1/pledges/{second['id']}",
        {"amount": "50.00", "external_reference": "PL-1", "metadata": {"x": "y"}},
        format="json",
    )

    assert response.status_code == 409 and response.json()["existing_id"] == first["id"]
    row = Pledge.objects.get(pk=second["id"])
    assert (row.external_reference, row.metadata, str(row.amount)) == ("PL-2", {}, "100.0000")
    # its own reference again is no conflict
    same = donor_client.patch(
        f"/api/v1/pledges/{second['id']}", {"external_reference": "PL-2"}, format="json"
    )
    assert same.status_code == 200


def test_only_the_donor_may_patch_them(donor_client, verifier_client):
    pledge = _post(donor_client).json()

    by_verifier = verifier_client.patch(
        f"/api/v1/pledges/{pledge['id']}", {"metadata": {"a": "b"}}, format="json"
    )
    by_other = client_for(UserFactory()).patch(
        f"/api/v1/pledges/{pledge['id']}", {"metadata": {"a": "b"}}, format="json"
    )

    assert by_verifier.status_code == 403 and by_other.status_code == 404
    assert Pledge.objects.get(pk=pledge["id"]).metadata == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"metadata": ["a"]}, "metadata"),
        ({"metadata": "a=b"}, "metadata"),
        ({"metadata": {f"k{i}": "v" for i in range(21)}}, "metadata"),
        ({"metadata": {"k" * 41: "v"}}, "metadata." + "k" * 40),
        ({"metadata": {"has space": "v"}}, "metadata.has space"),
        ({"metadata": {"": "v"}}, "metadata.(empty key)"),
        ({"metadata": {"n": 5}}, "metadata.n"),
        ({"metadata": {"n": None}}, "metadata.n"),
        ({"metadata": {"n": {"deep": "x"}}}, "metadata.n"),
        ({"metadata": {"n": "x" * 501}}, "metadata.n"),
        ({"metadata": {"n": "a\x00b"}}, "metadata.n"),
        ({"external_reference": "x" * 101}, "external_reference"),
        ({"external_reference": ""}, "external_reference"),
        ({"external_reference": "a\nb"}, "external_reference"),
        ({"external_reference": 12}, "external_reference"),
    ],
)
def test_bad_values_are_a_400_naming_the_field_and_nothing_is_written(donor_client, body, field):
    created = _post(donor_client, **body)
    pledge = PledgeFactory(donor=donor_client.user)
    patched = donor_client.patch(f"/api/v1/pledges/{pledge.pk}", body, format="json")

    for response in (created, patched):
        assert response.status_code == 400, response.content
        assert field in response.json()["errors"], response.json()
    assert Pledge.objects.count() == 1
    assert Pledge.objects.get().metadata == {}


def test_twenty_keys_of_forty_characters_and_500_character_values_are_fine(donor_client):
    metadata = {f"{i:02d}" + "k" * 38: "v" * 500 for i in range(20)}

    response = _post(donor_client, metadata=metadata, external_reference="r" * 100)

    assert response.status_code == 201 and response.json()["metadata"] == metadata


def test_an_institution_s_key_patches_its_pledges_and_its_members_see_them():
    institution = OrganizationFactory(kind="donor_institution")
    _, key = ApiKeyFactory.create(
        organization=institution, scopes=["pledges:write", "pledges:read"]
    )
    by_key = client_for(api_key=key)
    pledge = _post(by_key, external_reference="INST-1").json()

    changed = by_key.patch(
        f"/api/v1/pledges/{pledge['id']}", {"metadata": {"grant": "G-9"}}, format="json"
    )

    assert changed.status_code == 200, changed.content
    assert changed.json()["metadata"] == {"grant": "G-9"}
    member = client_for(MembershipFactory(organization=institution, role=MemberRole.ADMIN).user)
    (row,) = member.get("/api/v1/pledges/?external_reference=INST-1").json()["results"]
    assert row["id"] == pledge["id"] and row["metadata"] == {"grant": "G-9"}
