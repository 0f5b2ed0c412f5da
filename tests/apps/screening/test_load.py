"""manage.py load_sanctions: versions, idempotent reloads, atomic replacement, hostile files."""

import pytest
from django.core.management.base import CommandError

from apps.screening.models import SanctionsEntry, SanctionsList
from apps.screening.services import sha256_of
from tests.apps.screening.helpers import ALT, SDN, UN, load

pytestmark = pytest.mark.django_db


def test_loading_the_un_list_records_its_version_digest_and_entries():
    out = load("un", UN)

    active = SanctionsList.objects.get(source="un", active=True)
    assert active.version == "2026-10-01T23:00:02.112Z"
    assert active.file_sha256 == sha256_of([UN])
    assert active.entry_count == 35 == active.entries.count()
    siraj = active.entries.get(ref="TAi.144")
    assert siraj.kind == "individual" and siraj.data["birth_years"] == [[1977, 1978]]
    assert "35 entries stored" in out and "Loaded un 2026-10-01T23:00:02.112Z" in out


def test_loading_the_same_file_again_changes_nothing():
    load("un", UN)
    before = list(SanctionsEntry.objects.order_by("pk").values_list("pk", flat=True))

    out = load("un", UN)

    assert "Unchanged" in out
    assert SanctionsList.objects.filter(source="un").count() == 1
    assert list(SanctionsEntry.objects.order_by("pk").values_list("pk", flat=True)) == before


def test_a_new_version_replaces_the_previous_one(tmp_path):
    load("un", UN)
    newer = tmp_path / "consolidated.xml"
    text = UN.read_text(encoding="utf-8").replace(
        "2026-10-01T23:00:02.112Z", "2026-11-02T23:00:00Z"
    )
    newer.write_text(
        text.replace(
            "<REFERENCE_NUMBER>TAi.152</REFERENCE_NUMBER>",
            "<REFERENCE_NUMBER>TAi.153</REFERENCE_NUMBER>",
        ),
        encoding="utf-8",
    )

    out = load("un", newer)

    assert "replacing 2026-10-01T23:00:02.112Z" in out
    lists = SanctionsList.objects.filter(source="un")
    assert [(x.version, x.active) for x in lists.order_by("pk")] == [
        ("2026-10-01T23:00:02.112Z", False),
        ("2026-11-02T23:00:00Z", True),
    ]
    refs = set(SanctionsEntry.objects.values_list("ref", flat=True))
    assert "TAi.153" in refs and "TAi.152" not in refs  # only the active version's entries
    assert SanctionsEntry.objects.count() == 35


def test_a_broken_new_version_leaves_the_active_one_in_place(tmp_path):
    load("un", UN)
    broken = tmp_path / "broken.xml"
    broken.write_bytes(UN.read_bytes()[:6000])  # cut mid-file: fails while streaming

    with pytest.raises(CommandError, match="Nothing loaded"):
        load("un", broken)

    active = SanctionsList.objects.get(source="un", active=True)
    assert active.version == "2026-10-01T23:00:02.112Z"
    assert SanctionsList.objects.count() == 1 and SanctionsEntry.objects.count() == 35


def test_hostile_xml_is_refused_with_a_clear_error(tmp_path):
    hostile = tmp_path / "lol.xml"
    hostile.write_text(
        '<?xml version="1.0"?><!DOCTYPE CONSOLIDATED_LIST [<!ENTITY x SYSTEM '
        '"file:///etc/passwd">]><CONSOLIDATED_LIST dateGenerated="2026"><INDIVIDUALS>'
        "<INDIVIDUAL><FIRST_NAME>&x;</FIRST_NAME><REFERENCE_NUMBER>TAi.1</REFERENCE_NUMBER>"
        "</INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>"
    )

    with pytest.raises(CommandError, match="Refused: the XML declares a DOCTYPE"):
        load("un", hostile)

    assert not SanctionsList.objects.exists()


def test_the_ofac_files_load_with_their_aliases():
    out = load("ofac", SDN, "--alt", str(ALT), "--list-version", "2026-10-02")

    active = SanctionsList.objects.get(source="ofac", active=True)
    assert (active.version, active.entry_count) == ("2026-10-02", 13)
    assert active.file_sha256 == sha256_of([SDN, ALT])
    names = [n[0] for n in active.entries.get(ref="9001").data["names"]]
    assert "HAQQANI, Siraj al-Din" in names
    assert "Loaded ofac 2026-10-02: 13 entries" in out


def test_a_missing_file_or_a_wrong_format_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        load("un", tmp_path / "missing.xml")
    with pytest.raises(CommandError, match="Nothing loaded"):
        load("ofac", UN)
    assert not SanctionsList.objects.exists()
