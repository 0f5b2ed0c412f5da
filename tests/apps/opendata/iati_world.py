"""A funded world built through the API, for the IATI tests: two publishing organizations (one
sensitive), an institution that publishes, a private donor and an anonymous one."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.utils import timezone
from lxml import etree

from aidmatch.access import MemberRole
from apps.organizations.models import Organization
from apps.pledges.models import Pledge
from tests.conftest import client_for
from tests.factories import ApiKeyFactory, MembershipFactory, OrganizationFactory, UserFactory
from tests.factories.matching import propose

DATA = Path(__file__).resolve().parents[2] / "data"
IN_A_MONTH = (timezone.now().date() + timedelta(days=30)).isoformat()


def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(DATA / "iati-2.03" / name)))


def codelist(name: str) -> set[str]:
    tree = etree.parse(str(DATA / "iati-codelists" / f"{name}.xml"))
    return {code.text.strip() for code in tree.iterfind(".//codelist-item/code")}


@dataclass
class World:
    open_org: Organization
    hidden_org: Organization
    open_need: str
    hidden_need: str
    open_admin: object
    hidden_staff: object
    institution: Organization
    private_donor: object
    anonymous_donor: object
    secrets: list = field(default_factory=list)


def _need(client, org, **overrides) -> str:
    body = {
        "organization": str(org.pk),
        "title": "Food packages for 40 families in Herat, 5 weeks",
        "description": "Flour, rice, oil, beans and tea for widow-headed households.",
        "sector": "food_security",
        "province": "AF32",
        "currency": "USD",
        "amount": "4800.00",
        "urgency": 5,
        "deadline": IN_A_MONTH,
        **overrides,
    }
    response = client.post("/api/v1/needs/", body, format="json")
    assert response.status_code == 201, response.content
    need_id = response.json()["id"]
    assert client.post(f"/api/v1/needs/{need_id}/submit").status_code == 200
    return need_id


def _approve(verifier_client, need_id: str) -> None:
    response = verifier_client.post(f"/api/v1/needs/{need_id}/approve")
    assert response.status_code == 200, response.content


def _pledge(client, **body) -> str:
    response = client.post("/api/v1/pledges/", {"currency": "USD", **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _commit(client, pledge_id: str, need_id: str, amount: str) -> str:
    from apps.needs.models import Need

    allocation = propose(
        Pledge.objects.get(pk=pledge_id), Need.objects.get(pk=need_id), Decimal(amount)
    )
    response = client.post(f"/api/v1/allocations/{allocation.pk}/commit")
    assert response.status_code == 200, response.content
    return str(allocation.pk)


def _tranche(donor_client, staff_client, allocation: str, amount: str, received: str) -> None:
    tranche = donor_client.post(
        "/api/v1/disbursements/",
        {
            "allocations": [allocation],
            "amount": amount,
            "currency": "USD",
            "channel": "hawala",
            "provider": "Herat hawaladar",
            "fee_amount": "30.00",
        },
        format="json",
    ).json()
    sent = donor_client.post(f"/api/v1/disbursements/{tranche['id']}/mark-sent", {}, format="json")
    assert sent.status_code == 200, sent.content
    receipt = staff_client.post(
        f"/api/v1/disbursements/{tranche['id']}/confirm-receipt",
        {"received_amount": received, "received_currency": "USD"},
        format="json",
    )
    assert receipt.status_code == 200, receipt.content


def _report(staff_client, need_id: str, spent: str, **people) -> None:
    today = timezone.now().date()
    response = staff_client.post(
        "/api/v1/reports/",
        {
            "need": need_id,
            "period_start": str(today - timedelta(days=28)),
            "period_end": str(today),
            "households": 40,
            "narrative": "Families received four weeks of food.",
            "amount_spent": spent,
            **people,
        },
        format="json",
    )
    assert response.status_code == 201, response.content


def build_world(verifier_client) -> World:
    open_org = OrganizationFactory(
        name="Herat Family Food Relief", iati_org_id="AF-COA-1234", province_id="AF32"
    )
    hidden_org = OrganizationFactory(
        name="Kabul Safe House for Women",
        sensitive=True,
        iati_org_id="AF-COA-9876",
        contact_name="Mariam Qaderi",
        contact_email="mariam.qaderi@safehouse.example.org",
        contact_phone="+93 70 555 1234",
        address="House 44, Street 9, Karte Char, Kabul",
        principals=[{"name": "Farzana Ahmadi", "role": "director"}],
    )
    open_admin = MembershipFactory(organization=open_org, role=MemberRole.ADMIN).user
    hidden_admin = MembershipFactory(organization=hidden_org, role=MemberRole.ADMIN).user
    hidden_staff = MembershipFactory(organization=hidden_org, user__full_name="Shabnam Rahimi").user
    open_client, hidden_client = client_for(open_admin), client_for(hidden_admin)
    for client, org in ((open_client, open_org), (hidden_client, hidden_org)):
        response = client.patch(
            f"/api/v1/organizations/{org.pk}", {"publish_open_data": True}, format="json"
        )
        assert response.status_code == 200, response.content

    open_need = _need(open_client, open_org)
    hidden_need = _need(
        hidden_client,
        hidden_org,
        title="Safe shelter for 12 women at the Karte Char house",
        description="Rent and food for the women sheltering at the house.",
        sector="gbv",
        province="AF01",
        district="AF0102",
        location_detail="Karte Char, behind the blue mosque, third lane",
        amount="1000.00",
    )
    _approve(verifier_client, open_need)
    _approve(verifier_client, hidden_need)

    # An institution that publishes, pledging through its API key with its own activity id.
    institution = OrganizationFactory(
        name="Nordic Relief Fund",
        kind="donor_institution",
        iati_org_id="XM-DAC-7777",
        publish_open_data=True,
    )
    _, key = ApiKeyFactory.create(
        organization=institution,
        scopes=["pledges:write", "pledges:read", "allocations:read", "allocations:write"],
    )
    by_key = client_for(api_key=key)
    institutional = _pledge(
        by_key, amount="2000.00", earmark_need=open_need, external_reference="XM-DAC-7777-AF-26"
    )
    _commit(by_key, institutional, open_need, "2000.00")

    # A private donor: named nowhere.
    private_donor = UserFactory(full_name="Dana Privatedonor", email="dana.private@example.com")
    private_client = client_for(private_donor)
    private = _pledge(private_client, amount="1000.00")
    allocation = _commit(private_client, private, open_need, "1000.00")
    _tranche(private_client, open_client, allocation, "1000.00", "970.00")
    _report(
        open_client,
        open_need,
        "900.00",
        reached_women=60,
        reached_girls=90,
        reached_men=20,
        reached_boys=80,
    )

    # An anonymous pledge to the sensitive organization; a report with a small cell.
    anonymous_donor = UserFactory(full_name="Hamid Hiddengiver", email="hamid.hidden@example.com")
    anonymous_client = client_for(anonymous_donor)
    anonymous = _pledge(anonymous_client, amount="600.00", anonymous=True)
    allocation = _commit(anonymous_client, anonymous, hidden_need, "600.00")
    _tranche(anonymous_client, hidden_client, allocation, "600.00", "570.00")
    _report(
        hidden_client,
        hidden_need,
        "500.00",
        reached_women=12,
        reached_girls=15,
        reached_men=0,
        reached_boys=3,
    )

    secrets = [
        hidden_org.name,
        hidden_org.iati_org_id,
        hidden_org.contact_name,
        hidden_org.contact_email,
        hidden_org.contact_phone,
        hidden_org.address,
        "Farzana Ahmadi",
        "Karte Char",
        "AF0102",
        "Kabul Safe House",
        "Safe shelter",
        hidden_staff.full_name,
        hidden_staff.email,
        hidden_admin.full_name,
        hidden_admin.email,
        private_donor.full_name,
        private_donor.email,
        anonymous_donor.full_name,
        anonymous_donor.email,
    ]
    from apps.reference.models import District

    secrets.append(District.objects.get(pk="AF0102").name)
    return World(
        open_org=open_org,
        hidden_org=hidden_org,
        open_need=open_need,
        hidden_need=hidden_need,
        open_admin=open_admin,
        hidden_staff=hidden_staff,
        institution=institution,
        private_donor=private_donor,
        anonymous_donor=anonymous_donor,
        secrets=secrets,
    )
