"""The IATI files over HTTP and from ``manage.py export_iati``: who may read them, streamed as
application/xml."""

import io
import uuid

import pytest
from django.core.management import CommandError, call_command
from lxml import etree

from tests.apps.opendata.iati_world import build_world, schema
from tests.conftest import client_for
from tests.factories import MembershipFactory, NeedFactory, OrganizationFactory

pytestmark = pytest.mark.django_db


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_anyone_reads_a_publishing_organizations_files(verifier_client, anon):
    world = build_world(verifier_client)
    for name, xsd in (
        ("iati-activities.xml", "iati-activities-schema.xsd"),
        ("iati-organisation.xml", "iati-organisations-schema.xsd"),
    ):
        response = anon.get(
            f"/api/v1/organizations/{world.hidden_org.pk}/{name}", HTTP_ACCEPT="application/xml"
        )
        assert response.status_code == 200
        assert response["Content-Type"] == "application/xml"
        assert response.streaming
        body = _body(response)
        schema(xsd).assertValid(etree.fromstring(body))
        for secret in world.secrets:
            assert secret.encode() not in body, secret


def test_a_non_publishing_organization_is_a_404_except_to_its_members_and_verifiers(
    anon, verifier_client, donor_client
):
    org = OrganizationFactory(name="Not Yet Publishing")
    NeedFactory(organization=org)
    member = client_for(MembershipFactory(organization=org).user)
    path = f"/api/v1/organizations/{org.pk}/iati-activities.xml"

    unknown = anon.get(f"/api/v1/organizations/{uuid.uuid4()}/iati-activities.xml")
    for outsider in (anon, donor_client):
        response = outsider.get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
        assert response.json() == unknown.json()
    for insider in (member, verifier_client):
        response = insider.get(path)
        assert response.status_code == 200
        root = etree.fromstring(_body(response))
        assert len(root.findall("iati-activity")) == 1
        assert (
            insider.get(f"/api/v1/organizations/{org.pk}/iati-organisation.xml").status_code == 200
        )
    assert anon.get(f"/api/v1/organizations/{org.pk}/iati-organisation.xml").status_code == 404


def test_export_iati_writes_each_publishing_organizations_files(verifier_client, tmp_path):
    world = build_world(verifier_client)
    OrganizationFactory(name="Not Opted In")
    out, err = io.StringIO(), io.StringIO()

    call_command("export_iati", "--output-dir", str(tmp_path), stdout=out, stderr=err)

    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(
        f"iati-{kind}-{org.pk}.xml"
        for org in (world.open_org, world.hidden_org)
        for kind in ("activities", "organisation")
    )
    for path in tmp_path.glob("iati-activities-*.xml"):
        schema("iati-activities-schema.xsd").assertValid(etree.parse(str(path)))
    assert "IATI export" in err.getvalue() and "2/2" in err.getvalue()
    assert "Wrote 4 file(s): 2 activities of 2 organization(s)" in out.getvalue()


def test_export_iati_for_named_organizations_refuses_one_that_does_not_publish(
    verifier_client, tmp_path
):
    world = build_world(verifier_client)
    hidden = OrganizationFactory(name="Not Opted In")
    out = io.StringIO()

    call_command(
        "export_iati", "--output-dir", str(tmp_path), "--organization", str(world.open_org.pk),
        stdout=out, stderr=io.StringIO(),
    )  # fmt: skip

    assert len(list(tmp_path.iterdir())) == 2
    with pytest.raises(CommandError, match=str(hidden.pk)):
        call_command("export_iati", "--output-dir", str(tmp_path), "--organization", str(hidden.pk))
    with pytest.raises(CommandError, match="not-an-id"):
        call_command("export_iati", "--output-dir", str(tmp_path), "--organization", "not-an-id")


def test_an_organization_with_nothing_published_yet_has_no_activities_file(anon, tmp_path):
    """The 2.03 schema wants at least one activity: no file rather than an invalid one."""
    fresh = OrganizationFactory(publish_open_data=True)
    NeedFactory(organization=fresh, status="draft")

    response = anon.get(f"/api/v1/organizations/{fresh.pk}/iati-activities.xml")
    assert response.status_code == 404
    assert response.json()["detail"] == "This organization has no published activity yet."
    assert anon.get(f"/api/v1/organizations/{fresh.pk}/iati-organisation.xml").status_code == 200

    out = io.StringIO()
    call_command("export_iati", "--output-dir", str(tmp_path), stdout=out, stderr=io.StringIO())
    assert list(tmp_path.iterdir()) == []
    assert "1 with nothing published yet skipped" in out.getvalue()
