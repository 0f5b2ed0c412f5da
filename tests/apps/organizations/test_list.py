"""The organizations list: each row is what reading that organization alone gives the same
caller (the whole record for members and verifiers, the outsider's view for anyone else), and a
page costs the same statements whatever its length."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aidmatch.access import MemberRole
from apps.audit.models import AuditEvent
from tests.conftest import client_for
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def callers(db):
    mine = OrganizationFactory(name="Herat Women's Bakery")
    secret = OrganizationFactory(name="Underground Girls School", sensitive=True)
    OrganizationFactory.create_batch(3)
    OrganizationFactory(status="pending")
    return {
        "donor": client_for(UserFactory()),
        "member": client_for(MembershipFactory(organization=mine, role=MemberRole.ADMIN).user),
        "member_of_sensitive": client_for(MembershipFactory(organization=secret).user),
        "verifier": client_for(UserFactory(platform_role="verifier")),
    }


def _last_event() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.mark.parametrize("who", ["donor", "member", "member_of_sensitive", "verifier"])
def test_each_row_of_the_list_is_what_reading_it_alone_gives(callers, who):
    client = callers[who]

    before = _last_event()
    listed = client.get("/api/v1/organizations/?page_size=100").json()["results"]
    after = _last_event()
    alone = [client.get(f"/api/v1/organizations/{row['id']}").json() for row in listed]

    assert listed and [json.dumps(r) for r in listed] == [json.dumps(r) for r in alone]
    reads = AuditEvent.objects.filter(id__gt=before, id__lte=after, action="confidential.read")
    assert sorted(reads.values_list("object_id", flat=True)) == sorted(
        row["id"] for row in listed if "contact_email" in row
    )
    assert all(
        ("contact_email" in row) == (who == "verifier" or row.get("your_role") is not None)
        for row in listed
    )


@pytest.mark.parametrize("who", ["donor", "member", "verifier"])
def test_a_page_costs_the_same_statements_whatever_its_length(callers, who):
    client = callers[who]
    path = "/api/v1/organizations/?page_size=200"
    client.get(path)

    with CaptureQueriesContext(connection) as few:
        client.get(path)
    OrganizationFactory.create_batch(20)
    with CaptureQueriesContext(connection) as many:
        client.get(path)

    assert len(many) == len(few)
