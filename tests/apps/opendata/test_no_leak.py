"""No export, in any format, names what must stay hidden: a sensitive organization's real name,
org-id, need titles, district or exact location, its contacts, principals and staff; an
anonymous pledge's donor; a private donor's name or email. One world, every format."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from aidmatch.lifecycle import ALLOCATION_COMMITTED
from apps.matching.models import Allocation
from apps.organizations.models import OrganizationKind
from tests.conftest import client_for
from tests.factories import (
    MembershipFactory,
    NeedFactory,
    OrganizationFactory,
    PledgeFactory,
    UserFactory,
    propose,
)

pytestmark = pytest.mark.django_db

SECRETS = {
    "real name": "Nayak Hidden Girls Academy",
    "org-id": "AF-MOE-99001",
    "contact": "Zarghuna Contactname",
    "contact email": "zarghuna@hidden-academy.example",
    "contact phone": "+93 79 555 0101",
    "address": "Secret lane 7",
    "principal": "Principal Hiddenperson",
    "staff name": "Staffer Concealedname",
    "staff email": "staffer@hidden-academy.example",
    "need title": "Secret classroom for girls in Nayak",
    "need description": "Underground lessons in a family home",
    "exact location": "Behind the old caravanserai",
    "district": "AF1001",
    "anonymous donor institution": "Shadow Benefactors Trust",
    "anonymous donor org-id": "XM-DAC-99999",
    "anonymous donor person": "Shadow Treasurer",
    "private donor": "Donor Privatename",
    "private donor email": "donor.private@example.org",
}


def _fund(pledge, need, amount, staff_client, donor_client):
    allocation = propose(pledge, need, amount)
    assert donor_client.post(f"/api/v1/allocations/{allocation.pk}/commit").status_code == 200
    return allocation


@pytest.fixture
def world(db, verifier):
    hidden = OrganizationFactory(
        name=SECRETS["real name"],
        sensitive=True,
        publish_open_data=True,
        iati_org_id=SECRETS["org-id"],
        province_id="AF10",
        contact_name=SECRETS["contact"],
        contact_email=SECRETS["contact email"],
        contact_phone=SECRETS["contact phone"],
        address=SECRETS["address"] + ", Bamyan",
        principals=[{"name": SECRETS["principal"], "role": "director"}],
    )
    staff = MembershipFactory(
        organization=hidden,
        user=UserFactory(full_name=SECRETS["staff name"], email=SECRETS["staff email"]),
    ).user
    need = NeedFactory(
        organization=hidden,
        title=SECRETS["need title"],
        description=SECRETS["need description"],
        sector_id="education",
        province_id="AF10",
        district_id=SECRETS["district"],
        location_detail=SECRETS["exact location"] + ", house 31",
        beneficiaries_women=0,
        beneficiaries_girls=60,
        amount=Decimal("9000.00"),
    )
    # Two open organizations beside it in the same cell, so the public summary shows the cell.
    for _ in range(2):
        other = OrganizationFactory(publish_open_data=True, province_id="AF10")
        NeedFactory(
            organization=other, sector_id="education", province_id="AF10", district_id="AF1002"
        )
    private = UserFactory(full_name=SECRETS["private donor"], email=SECRETS["private donor email"])
    shadow = OrganizationFactory(
        name=SECRETS["anonymous donor institution"],
        kind=OrganizationKind.DONOR_INSTITUTION,
        publish_open_data=True,
        iati_org_id=SECRETS["anonymous donor org-id"],
    )
    treasurer = MembershipFactory(
        organization=shadow, user=UserFactory(full_name=SECRETS["anonymous donor person"])
    ).user
    private_pledge = PledgeFactory(donor=private, amount=Decimal("3000.00"))
    shadow_pledge = PledgeFactory(
        donor=treasurer, donor_organization=shadow, anonymous=True, amount=Decimal("2000.00")
    )
    private_client, treasurer_client = client_for(private), client_for(treasurer)
    paid = _fund(private_pledge, need, Decimal("3000.00"), client_for(staff), private_client)
    _fund(shadow_pledge, need, Decimal("2000.00"), client_for(staff), treasurer_client)
    tranche = private_client.post(
        "/api/v1/disbursements/",
        {"allocations": [str(paid.pk)], "amount": "3000.00", "currency": "USD", "channel": "bank"},
        format="json",
    ).json()
    assert (
        private_client.post(
            f"/api/v1/disbursements/{tranche['id']}/mark-sent", {}, format="json"
        ).status_code
        == 200
    )
    staff_client = client_for(staff)
    assert (
        staff_client.post(
            f"/api/v1/disbursements/{tranche['id']}/confirm-receipt",
            {"received_amount": "3000.00", "received_currency": "USD"},
            format="json",
        ).status_code
        == 200
    )
    report = staff_client.post(
        "/api/v1/reports/",
        {
            "need": str(need.pk),
            "period_start": str(timezone.now().date() - timedelta(days=20)),
            "period_end": str(timezone.now().date()),
            "reached_girls": 60,
            "reached_women": 3,
            "narrative": "Lessons given by " + SECRETS["staff name"],
            "amount_spent": "1000.00",
            "final": False,
        },
        format="json",
    )
    assert report.status_code == 201, report.content
    assert Allocation.objects.filter(need=need, status__in=ALLOCATION_COMMITTED).count() == 2
    return hidden


def _leaks(body: bytes, allowed=()) -> list[str]:
    text = body.decode("utf-8")
    return [what for what, secret in SECRETS.items() if what not in allowed and secret in text]


def _body(response) -> bytes:
    assert response.status_code == 200, response.content[:500]
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


EXPORTS = [
    "/api/v1/flows/",
    "/api/v1/flows/?format=csv",
    "/api/v1/flows/?format=hxl",
    "/api/v1/public/funding-summary",
    "/api/v1/public/funding-summary?format=csv",
    "/api/v1/public/funding-summary?format=hxl",
    "/api/v1/needs/",
    "/api/v1/needs/?format=csv",
    "/api/v1/needs/?format=hxl",
]


@pytest.mark.parametrize("url", EXPORTS)
def test_no_public_export_names_anyone_hidden(world, anon, url):
    body = _body(anon.get(url))
    assert _leaks(body) == []
    # ... while it does hold the hidden organization's figures (its province's cell, its
    # flows under its pseudonym): the test reads real exports, not empty ones.
    expected = world.pseudonym if "flows" in url else "AF10"
    assert expected in body.decode()


@pytest.mark.parametrize("name", ["iati-activities.xml", "iati-organisation.xml"])
def test_the_sensitive_organizations_iati_files_name_no_one(world, anon, name):
    body = _body(anon.get(f"/api/v1/organizations/{world.pk}/{name}"))
    assert world.pseudonym.encode() in body  # its activities are there, under its pseudonym
    assert _leaks(body) == []


def test_a_donors_csv_of_needs_hides_what_its_json_hides(world):
    donor = client_for(UserFactory())
    # A signed-in donor reads titles and descriptions (as in JSON), never the rest.
    shown = ("need title", "need description")
    for url in ("/api/v1/needs/?format=csv", "/api/v1/needs/?format=hxl"):
        assert _leaks(_body(donor.get(url)), allowed=shown) == []


def test_export_iati_writes_nothing_hidden(world, tmp_path):
    call_command(
        "export_iati", "--output-dir", str(tmp_path), stdout=io.StringIO(), stderr=io.StringIO()
    )
    files = list(tmp_path.rglob("*.xml"))
    assert files
    for path in files:
        assert _leaks(path.read_bytes()) == [], path.name
