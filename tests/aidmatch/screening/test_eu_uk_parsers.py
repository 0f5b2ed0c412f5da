"""The EU and UK list parsers, on the sample files in the published formats (no database)."""

import io

import pytest

from aidmatch.screening.eu import parse_eu
from aidmatch.screening.types import ListFormatError
from aidmatch.screening.uk import parse_uk
from tests.aidmatch.screening.test_parsers import DATA

EU = DATA / "eu_sample.xml"
UK = DATA / "uk_sample.csv"


def named(entry) -> list[tuple[str, str, str]]:
    return [(n.name, n.kind, n.quality) for n in entry.names]


def test_the_eu_list_gives_its_version_people_enterprises_aliases_and_birth_dates():
    parsed = parse_eu(str(EU))
    entries = {e.ref: e for e in parsed.entries}

    assert parsed.source == "eu" and parsed.version == "2026-11-27T17:25:38.436+01:00"
    assert len(entries) == 11
    assert sum(e.kind == "entity" for e in entries.values()) == 3
    siraj = entries["EU.2714.55"]
    assert siraj.kind == "individual"
    assert siraj.primary_name == "Sirajuddin Jallaloudine Haqqani"
    assert ("Sirajuddin Haqani", "alias", "strong") in named(siraj)  # the EU's own spelling
    assert ("Khalifa", "alias", "weak") in named(siraj)  # strong="false"
    assert ("سراج الدین جلال الدین حقانی", "original_script", "strong") in named(siraj)
    assert siraj.birth_years == [(1977, 1977), (1978, 1978)]
    assert siraj.nationalities == ["AFGHANISTAN"] and siraj.programs == ["AFG"]
    assert siraj.extra["un_reference"] == "TAi.144"
    assert siraj.extra["functions"] == ["Deputy Leader (Naib Amir)"]
    assert entries["EU.2721.2"].birth_years == [(1941, 1943)]  # circa="true"
    assert entries["EU.2721.2"].birth_dates == ["circa 1942"]
    assert entries["EU.3221.89"].birth_dates == ["1966-01-01"]
    baradar = entries["EU.2702.27"]
    assert ("Mullah Brader Popalzai", "alias", "strong") in named(baradar)  # only the EU has it
    network = entries["EU.3402.40"]
    assert network.kind == "entity" and network.primary_name == "Haqqani Network"
    assert ("شبکه حقانی", "original_script", "strong") in named(network)
    assert entries["EU.1517.34"].programs == ["TAQA"]
    # no euReferenceNumber: the logicalId; the name from its parts; UNKNOWN citizenship dropped
    zarkawi = entries["6990"]
    assert zarkawi.primary_name == "Abdul Rahman Zarkawi" and zarkawi.nationalities == []
    assert len(zarkawi.names) == 1  # the empty nameAlias is skipped


def test_the_uk_list_groups_its_rows_by_unique_id():
    with UK.open("rb") as f:
        parsed = parse_uk(f)
        entries = {e.ref: e for e in parsed.entries}

    assert parsed.source == "uk" and parsed.version == "28/11/2026"
    assert len(entries) == 10
    assert [e.ref for e in entries.values() if e.kind == "entity"] == [
        "AFG0133",
        "AFG0130",
        "AQD0105",
    ]
    siraj = entries["AFG0047"]
    assert siraj.kind == "individual" and siraj.primary_name == "Sirajuddin Jallaloudine HAQQANI"
    names = named(siraj)
    assert ("Siraj HAQQANI", "alias", "strong") in names  # a Primary Name Variation
    assert ("KHALIFA", "alias", "weak") in names  # Low quality a.k.a
    assert ("Saraj HAQQANI", "alias", "strong") in names  # its row comes last in the file
    assert ("سراج الدین جلال الدین حقانی", "original_script", "strong") in names
    assert siraj.birth_years == [(1977, 1977), (1978, 1978)]
    assert siraj.birth_dates == ["00/00/1977", "00/00/1978"]
    assert siraj.nationalities == ["Afghanistan"]
    assert siraj.programs == ["The Afghanistan (Sanctions) (EU Exit) Regulations 2020"]
    assert siraj.extra["un_reference"] == "TAi.144"
    assert ("Haji Khaleel ZADRAN", "alias", "strong") in named(entries["AFG0128"])  # UK only
    assert entries["AFG0133"].primary_name == "HAQQANI NETWORK"


def test_a_given_uk_version_overrides_the_report_date():
    with UK.open("rb") as f:
        assert parse_uk(f, version="2026-11-28").version == "2026-11-28"


def uk_text() -> str:
    return UK.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"", "empty"),
        (b'Report Date: 28/11/2026\r\n"Unique ID","Name 1"\r\n', "missing columns"),
        ("\n".join(uk_text().splitlines()[1:]).encode(), "no version"),
        (uk_text().encode("utf-16"), "not UTF-8|missing columns"),
        (uk_text().replace('"AFG0009"', '"AFG0009","extra"', 1).encode(), "line \\d+: expected"),
        (uk_text().replace('"AFG0131"', '""', 1).encode(), "no Unique ID"),
    ],
)
def test_a_malformed_uk_file_is_refused(document, message):
    with pytest.raises(ListFormatError, match=message):
        list(parse_uk(io.BytesIO(document)).entries)


def test_a_uk_file_without_its_report_line_takes_the_given_version():
    document = "\n".join(uk_text().splitlines()[1:]).encode()

    parsed = parse_uk(io.BytesIO(document), version="2026-11-28")

    assert parsed.version == "2026-11-28" and len(list(parsed.entries)) == 10


HOSTILE_EU = b"""<?xml version="1.0"?>
<!DOCTYPE export [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<export xmlns="http://eu.europa.ec/fpi/fsd/export" generationDate="2026-01-01">
<sanctionEntity euReferenceNumber="EU.1.1"><subjectType code="person"/>
<nameAlias wholeName="&secret;" strong="true"/></sanctionEntity></export>"""


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (HOSTILE_EU, "DOCTYPE"),
        (b"", "empty|well-formed"),
        (b"<CONSOLIDATED_LIST dateGenerated='x'/>", "Expected a <export>"),
        (b"<export xmlns='http://eu.europa.ec/fpi/fsd/export'/>", "generationDate"),
        (EU.read_bytes()[:5000], "well-formed"),  # cut mid-file: fails while streaming
    ],
)
def test_a_malformed_or_hostile_eu_file_is_refused(document, message):
    with pytest.raises(ListFormatError, match=message):
        list(parse_eu(io.BytesIO(document)).entries)
