"""The EU and UK lists: loading them, finding a listed person through a name only they carry,
and the list versions verifiers see (GET /screening-lists/)."""

import pytest
from django.core.management.base import CommandError

from apps.organizations.services import organization_register
from apps.screening.models import SanctionsEntry, SanctionsList, ScreeningHit
from apps.screening.services import sha256_of
from tests.apps.screening.helpers import EU, UK, load, load_samples
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/screening-lists/"
EU_VERSION = "2026-11-27T17:25:38.436+01:00"


def register(**fields):
    defaults = {"name": "Herat Bread for Families", "kind": "ngo", "afghan_led": True}
    return organization_register(creator=UserFactory(), **{**defaults, **fields})


def test_the_eu_list_loads_with_its_version_and_entries():
    out = load("eu", EU)

    active = SanctionsList.objects.get(source="eu", active=True)
    assert (active.version, active.entry_count) == (EU_VERSION, 11)
    assert active.file_sha256 == sha256_of([EU]) and active.entries.count() == 11
    siraj = active.entries.get(ref="EU.2714.55")
    assert siraj.kind == "individual" and siraj.data["extra"]["un_reference"] == "TAi.144"
    assert active.entries.get(ref="EU.3402.40").kind == "entity"
    assert "11 entries stored" in out and f"Loaded eu {EU_VERSION}: 11 entries" in out


def test_the_uk_list_loads_and_the_same_file_again_changes_nothing():
    out = load("uk", UK)
    before = list(SanctionsEntry.objects.order_by("pk").values_list("pk", flat=True))

    again = load("uk", UK)

    active = SanctionsList.objects.get(source="uk", active=True)
    assert (active.version, active.entry_count) == ("28/11/2026", 10)
    names = [n[0] for n in active.entries.get(ref="AFG0047").data["names"]]
    assert "Saraj HAQQANI" in names and "KHALIFA" in names
    assert "Loaded uk 28/11/2026: 10 entries" in out and "Unchanged" in again
    assert list(SanctionsEntry.objects.order_by("pk").values_list("pk", flat=True)) == before


def test_a_new_uk_version_replaces_the_previous_one_and_may_name_its_version(tmp_path):
    load("uk", UK)
    newer = tmp_path / "UK-Sanctions-List.csv"
    newer.write_text(UK.read_text(encoding="utf-8").replace('"AFG0131"', '"AFG0140"'), "utf-8")

    out = load("uk", newer, "--list-version", "2026-11-29")

    assert "replacing 28/11/2026" in out
    lists = SanctionsList.objects.filter(source="uk").order_by("pk")
    assert [(x.version, x.active) for x in lists] == [("28/11/2026", False), ("2026-11-29", True)]
    refs = set(SanctionsEntry.objects.values_list("ref", flat=True))
    assert "AFG0140" in refs and "AFG0131" not in refs


@pytest.mark.parametrize(
    ("source", "good", "broken"),
    [
        ("eu", EU, lambda: EU.read_bytes()[:6000]),  # cut mid-file: fails while streaming
        ("uk", UK, lambda: UK.read_bytes().replace(b'"AFG0009"', b'"AFG0009","x"', 1)),
    ],
)
def test_a_broken_new_version_changes_nothing(tmp_path, source, good, broken):
    load(source, good)
    before = list(SanctionsEntry.objects.order_by("pk").values_list("pk", "ref"))
    bad = tmp_path / "broken"
    bad.write_bytes(broken())

    with pytest.raises(CommandError, match="Nothing loaded"):
        load(source, bad)

    assert SanctionsList.objects.filter(source=source).count() == 1
    assert SanctionsList.objects.get(source=source).active
    assert list(SanctionsEntry.objects.order_by("pk").values_list("pk", "ref")) == before


def test_wrong_files_and_options_are_errors():
    with pytest.raises(CommandError, match="Nothing loaded"):
        load("eu", UK)
    with pytest.raises(CommandError, match="Nothing loaded"):
        load("uk", EU)
    with pytest.raises(CommandError, match="--list-version goes with"):
        load("eu", EU, "--list-version", "2026-11-01")
    assert not SanctionsList.objects.exists()


@pytest.mark.parametrize(
    ("source", "path", "principal", "ref"),
    [
        ("eu", EU, "Mullah Brader Popalzai", "EU.2702.27"),  # an alias only the EU lists
        ("uk", UK, "Haji Khaleel Zadran", "AFG0128"),  # an alias only the UK lists
    ],
)
def test_a_listed_person_is_found_through_an_alias_only_one_list_has(
    source, path, principal, ref, django_capture_on_commit_callbacks
):
    load_samples()  # UN and OFAC
    org = register(principals=[{"name": principal, "role": "director"}])
    assert org.status == "pending" and not ScreeningHit.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        load(source, path)  # the load rescreens every organization

    org.refresh_from_db()
    assert org.status == "screening"
    hit = ScreeningHit.objects.get(organization=org)
    assert (hit.source, hit.entry_ref, hit.subject) == (source, ref, principal)
    assert hit.matched_name.casefold() == principal.casefold()


def test_a_person_on_every_list_gets_a_hit_from_each():
    load_samples()
    load("eu", EU)
    load("uk", UK)

    org = register(principals=[{"name": "Sirajuddin Haqqani", "role": "director"}])

    hits = ScreeningHit.objects.filter(organization=org)
    assert {(h.source, h.entry_ref) for h in hits} >= {
        ("un", "TAi.144"),
        ("ofac", "9001"),
        ("eu", "EU.2714.55"),
        ("uk", "AFG0047"),
    }


# --- GET /screening-lists/ ---------------------------------------------------------------------


@pytest.fixture
def loaded(tmp_path):
    load_samples()
    load("eu", EU)
    load("uk", UK)
    newer = tmp_path / "uk.csv"
    newer.write_text(UK.read_text(encoding="utf-8").replace("28/11/2026", "29/11/2026"), "utf-8")
    load("uk", newer)


def test_verifiers_see_which_list_versions_are_active(loaded, verifier_client):
    response = verifier_client.get(URL, {"active": "true"})

    assert response.status_code == 200, response.content
    rows = {r["source"]: r for r in response.json()["results"]}
    assert set(rows) == {"un", "ofac", "eu", "uk"}
    assert rows["eu"]["version"] == EU_VERSION and rows["eu"]["entry_count"] == 11
    assert rows["eu"]["source_name"] == "EU Consolidated Financial Sanctions List"
    assert rows["uk"]["version"] == "29/11/2026" and rows["uk"]["active"] is True
    assert rows["un"]["file_sha256"] == SanctionsList.objects.get(source="un").file_sha256
    assert rows["un"]["loaded_at"] and rows["un"]["loaded_by"] is None  # manage.py


def test_replaced_versions_are_listed_as_inactive(loaded, verifier_client):
    rows = verifier_client.get(URL, {"source": "uk"}).json()["results"]

    assert [(r["version"], r["active"]) for r in rows] == [
        ("29/11/2026", True),
        ("28/11/2026", False),
    ]
    one = verifier_client.get(f"{URL}{rows[1]['id']}")
    assert one.status_code == 200 and one.json()["version"] == "28/11/2026"


def test_bad_filters_are_a_400(loaded, verifier_client):
    for query in ({"active": "yes"}, {"source": "fr"}):
        response = verifier_client.get(URL, query)
        assert response.status_code == 400
        assert response["Content-Type"].startswith("application/problem+json")


def test_nobody_else_sees_the_list_versions(loaded, anon, donor_client, org_x, admin_x, api_key_x):
    pk = SanctionsList.objects.first().pk
    assert anon.get(URL).status_code == 401
    for client in (donor_client, client_for(admin_x), client_for(api_key=api_key_x)):
        assert client.get(URL).status_code in (403, 404)
        response = client.get(f"{URL}{pk}")
        assert response.status_code in (403, 404)
        assert response["Content-Type"].startswith("application/problem+json")
    assert client_for(admin_x).get(URL).status_code == 404


def test_the_versions_come_as_csv_too(loaded, verifier_client):
    response = verifier_client.get(URL, {"format": "csv", "active": "true"})

    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0].startswith("id,source,source_name,version")
    assert len(text.splitlines()) == 5
