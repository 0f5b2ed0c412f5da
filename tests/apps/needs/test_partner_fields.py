"""An organization's own ids and notes on its needs: metadata and external_reference, set at
creation and by PATCH (in any state), unique per organization, filterable, and shown to the
organization's members and keys only."""

import pytest

from apps.audit.models import AuditEvent
from apps.needs.models import Need
from tests.apps.needs.test_api import FOOD_NEED
from tests.conftest import client_for
from tests.factories import ApiKeyFactory, MembershipFactory, NeedFactory

pytestmark = pytest.mark.django_db

META = {"project": "KFP-2026-food", "budget_line": "4.2"}


@pytest.fixture
def staff(staff_x):
    return client_for(staff_x)


def _create(client, **extra):
    return client.post("/api/v1/needs/", {**FOOD_NEED, **extra}, format="json")


def test_set_at_creation_and_shown_to_the_organization_only(
    staff, org_x, donor_client, verifier_client, verifier
):
    created = _create(staff, metadata=META, external_reference="KFP/11")

    assert created.status_code == 201, created.content
    assert created.json()["metadata"] == META
    assert created.json()["external_reference"] == "KFP/11"
    need_id = created.json()["id"]
    Need.objects.filter(pk=need_id).update(status="open")
    _, key = ApiKeyFactory.create(organization=org_x, scopes=["needs:read"])
    for own in (staff, client_for(api_key=key)):
        assert own.get(f"/api/v1/needs/{need_id}").json()["external_reference"] == "KFP/11"
        (row,) = own.get("/api/v1/needs/").json()["results"]
        assert row["metadata"] == META and row["external_reference"] == "KFP/11"
    for other in (donor_client, verifier_client, client_for()):
        body = other.get(f"/api/v1/needs/{need_id}").json()
        (row,) = other.get("/api/v1/needs/").json()["results"]
        for shown in (body, row):
            assert shown["id"] == need_id
            assert "metadata" not in shown and "external_reference" not in shown
    trail = AuditEvent.objects.get(action="need.create", object_id=need_id)
    assert "metadata" not in trail.after and "external_reference" not in trail.after
    assert trail.detail["creator_fields_set"] == ["external_reference", "metadata"]
    assert "KFP/11" not in str(trail.after) + str(trail.detail)


def test_a_reference_used_twice_in_one_organization_is_a_409_naming_the_need(staff, org_y):
    first = _create(staff, external_reference="KFP/11").json()

    again = _create(staff, external_reference="KFP/11")

    assert again.status_code == 409
    assert again.json()["code"] == "external_reference_taken"
    assert again.json()["existing_id"] == first["id"]
    assert Need.objects.count() == 1
    # another organization may use it
    other = client_for(MembershipFactory(organization=org_y).user)
    assert _create(other, external_reference="KFP/11").status_code == 201


def test_patch_sets_them_in_any_state_and_a_taken_one_is_a_409(staff, org_x):
    first = NeedFactory(organization=org_x, external_reference="A-1")
    cancelled = NeedFactory(organization=org_x, status="cancelled")
    url = f"/api/v1/needs/{cancelled.pk}"

    changed = staff.patch(url, {"metadata": META, "external_reference": "A-2"}, format="json")

    assert changed.status_code == 200, changed.content
    assert changed.json()["metadata"] == META and changed.json()["external_reference"] == "A-2"
    assert changed.json()["status"] == "cancelled"
    # other fields of a cancelled need still cannot change
    assert staff.patch(url, {"title": "New", "metadata": {}}, format="json").status_code == 409
    taken = staff.patch(url, {"external_reference": "A-1"}, format="json")
    assert taken.status_code == 409 and taken.json()["existing_id"] == str(first.pk)
    row = Need.objects.get(pk=cancelled.pk)
    assert (row.metadata, row.external_reference) == (META, "A-2")
    trail = AuditEvent.objects.filter(action="need.update", object_id=str(cancelled.pk)).get()
    assert trail.detail["creator_fields_changed"] == ["external_reference", "metadata"]
    assert "A-2" not in str(trail.before) + str(trail.after)


def test_an_open_need_takes_them_too(staff, org_x):
    need = NeedFactory(organization=org_x, status="open")

    changed = staff.patch(
        f"/api/v1/needs/{need.pk}", {"external_reference": "OPEN-1"}, format="json"
    )

    assert changed.status_code == 200, changed.content
    assert changed.json()["external_reference"] == "OPEN-1"


def test_the_list_filters_by_reference_within_the_callers_organizations(
    staff, org_x, org_y, verifier_client, anon
):
    mine = NeedFactory(organization=org_x, status="open", external_reference="R-1")
    NeedFactory(organization=org_x, status="open", external_reference="R-2")
    NeedFactory(organization=org_y, status="open", external_reference="R-1")

    found = staff.get("/api/v1/needs/?external_reference=R-1").json()["results"]

    assert [n["id"] for n in found] == [str(mine.pk)]
    for outsider in (verifier_client, anon):
        assert outsider.get("/api/v1/needs/?external_reference=R-1").json()["results"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"metadata": {"bad key!": "x"}}, "metadata.bad key!"),
        ({"metadata": {"n": 1}}, "metadata.n"),
        ({"external_reference": "x" * 101}, "external_reference"),
    ],
)
def test_bad_values_are_a_400(staff, org_x, body, field):
    need = NeedFactory(organization=org_x)

    for response in (
        _create(staff, **body),
        staff.patch(f"/api/v1/needs/{need.pk}", body, format="json"),
    ):
        assert response.status_code == 400
        assert field in response.json()["errors"]
    assert Need.objects.count() == 1


def test_the_admin_pages_leave_them_out(client, org_x):
    from decimal import Decimal

    from apps.disbursements.models import Disbursement
    from tests.factories import PledgeFactory, UserFactory

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    need = NeedFactory(organization=org_x, metadata={"k": "NEED-SECRET"}, external_reference="N-R")
    pledge = PledgeFactory(metadata={"k": "PLEDGE-SECRET"}, external_reference="P-R")
    tranche = Disbursement.objects.create(
        donor=pledge.donor,
        organization=org_x,
        amount=Decimal("10.00"),
        currency_id="USD",
        channel="bank",
        metadata={"k": "TRANCHE-SECRET"},
        external_reference="T-R",
    )

    # (the metadata's value, the reference)
    for path, secrets in (
        (f"/admin/needs/need/{need.pk}/change/", ("NEED-SECRET", "N-R")),
        (f"/admin/pledges/pledge/{pledge.pk}/change/", ("PLEDGE-SECRET", "P-R")),
        (f"/admin/disbursements/disbursement/{tranche.pk}/change/", ("TRANCHE-SECRET", "T-R")),
    ):
        page = client.get(path)
        assert page.status_code == 200
        assert not [
            s for s in secrets if f">{s}<" in page.content.decode() or s in str(page.content)[:0]
        ]
        assert secrets[0] not in page.content.decode()
