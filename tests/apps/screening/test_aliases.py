"""An organization's declared aliases: edited through the API, each screened as a name (a
change screens again), and shown only to those who see its real name."""

import pytest

from apps.organizations.models import Organization
from apps.screening.models import ScreeningHit
from tests.apps.screening.helpers import UK, load, load_samples
from tests.conftest import client_for
from tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db
ORGS = "/api/v1/organizations/"


@pytest.fixture
def lists():
    load_samples()
    load("uk", UK)


def test_aliases_are_registered_and_screened_as_names(lists, donor_client):
    response = donor_client.post(
        ORGS,
        {
            "name": "Paktia Relief Committee",
            "aliases": ["  Paktia   Relief ", "Al-Rasheed Trust", "paktia relief"],
            "kind": "ngo",
            "afghan_led": True,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["aliases"] == ["Paktia Relief", "Al-Rasheed Trust"]  # trimmed, each once
    assert body["status"] == "screening"
    hit = ScreeningHit.objects.get(organization_id=body["id"], source="un")
    assert (hit.subject_kind, hit.subject, hit.entry_ref) == (
        "alias",
        "Al-Rasheed Trust",
        "QDe.005",
    )


def test_editing_aliases_screens_the_organization_again(lists, verifier_client):
    org = OrganizationFactory(status="verified", aliases=["Gardez Water Users"])
    admin = MembershipFactory(organization=org, role="admin").user

    response = client_for(admin).patch(
        f"{ORGS}{org.pk}", {"aliases": ["Gardez Water Users", "Khaleel Zadran"]}, format="json"
    )

    assert response.status_code == 200, response.content
    org.refresh_from_db()
    assert org.aliases == ["Gardez Water Users", "Khaleel Zadran"]
    assert org.status == "screening"  # an alias that is a listed person's UK-only alias
    hit = ScreeningHit.objects.get(organization=org)
    assert (hit.source, hit.entry_ref, hit.subject_kind) == ("uk", "AFG0128", "alias")
    shown = verifier_client.get("/api/v1/screening-hits/", {"organization": str(org.pk)})
    assert shown.json()["results"][0]["subject"] == "Khaleel Zadran"


def test_an_unlisted_alias_changes_nothing(lists):
    org = OrganizationFactory(status="verified")
    admin = MembershipFactory(organization=org, role="admin").user

    response = client_for(admin).patch(
        f"{ORGS}{org.pk}",
        {"aliases": ["Herat Bakers Union", "اتحادیه نانوایان هرات"]},
        format="json",
    )

    assert response.status_code == 200
    org.refresh_from_db()
    assert org.status == "verified" and not ScreeningHit.objects.exists()


@pytest.mark.parametrize(
    "aliases",
    [
        [f"Name {i}" for i in range(21)],  # at most 20
        ["x" * 201],  # at most 200 characters each
        ["   "],
        [None],
        "Kabul Bakers",  # not a list
        None,
        [["nested"]],
    ],
)
def test_bad_aliases_are_refused_and_nothing_changes(org_x, admin_x, aliases):
    response = client_for(admin_x).patch(f"{ORGS}{org_x.pk}", {"aliases": aliases}, format="json")

    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert [k.split(".")[0] for k in response.json()["errors"]] == ["aliases"]
    assert Organization.objects.get(pk=org_x.pk).aliases == []


def test_aliases_are_shown_with_the_real_name_and_hidden_with_it(donor_client, verifier_client):
    open_org = OrganizationFactory(name="Kabul Bakers", aliases=["Kabul Bakery Union"])
    hidden = OrganizationFactory(
        name="Secret Girls School Kandahar", sensitive=True, aliases=["Kandahar Learning Circle"]
    )
    member = MembershipFactory(organization=hidden, role="staff").user

    # outsiders: the aliases of an organization whose name they see, none of a sensitive one
    assert donor_client.get(f"{ORGS}{open_org.pk}").json()["aliases"] == ["Kabul Bakery Union"]
    detail = donor_client.get(f"{ORGS}{hidden.pk}").json()
    assert detail["name"] == hidden.pseudonym and detail["aliases"] == []
    listing = donor_client.get(ORGS, {"page_size": 200})
    assert "Kandahar Learning Circle" not in listing.content.decode()
    csv = donor_client.get(ORGS, {"format": "csv"})
    assert "Kandahar Learning Circle" not in b"".join(csv.streaming_content).decode()
    # members and verifiers: the real name and its aliases
    for client in (client_for(member), verifier_client):
        body = client.get(f"{ORGS}{hidden.pk}").json()
        assert body["name"] == hidden.name and body["aliases"] == ["Kandahar Learning Circle"]
