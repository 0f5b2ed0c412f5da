"""The list parsers, on small sample files in the published formats (no database)."""

import io
from pathlib import Path

import pytest

from aidmatch.screening.ofac import parse_ofac, parse_remarks
from aidmatch.screening.types import ListFormatError
from aidmatch.screening.un import parse_un

DATA = Path(__file__).resolve().parents[2] / "apps" / "screening" / "data"


def test_the_un_list_gives_its_version_individuals_entities_aliases_and_birth_dates():
    parsed = parse_un(str(DATA / "un_sample.xml"))
    entries = {e.ref: e for e in parsed.entries}

    assert parsed.version == "2026-10-01T23:00:02.112Z"
    assert len(entries) == 35
    siraj = entries["TAi.144"]
    assert siraj.kind == "individual"
    assert siraj.primary_name == "SIRAJUDDIN JALLALOUDINE HAQQANI"
    assert ("سراج الدین جلال الدین حقانی", "original_script", "strong") in [
        (n.name, n.kind, n.quality) for n in siraj.names
    ]
    assert ("Khalifa", "alias", "weak") in [(n.name, n.kind, n.quality) for n in siraj.names]
    assert siraj.birth_years == [(1977, 1978)]
    assert siraj.nationalities == ["Afghanistan"]
    assert siraj.programs == ["Taliban"]
    assert entries["TAi.040"].birth_years == [(1941, 1943)]  # approximately 1942
    assert entries["TAe.012"].kind == "entity"
    assert "Haqqani Taliban Network" in [n.name for n in entries["TAe.012"].names]
    assert entries["TAi.002"].names[-1].kind == "original_script"  # the empty alias is skipped


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE CONSOLIDATED_LIST [
  <!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<CONSOLIDATED_LIST dateGenerated="2026-01-01"><INDIVIDUALS><INDIVIDUAL>
<FIRST_NAME>&lol3;</FIRST_NAME><REFERENCE_NUMBER>TAi.999</REFERENCE_NUMBER>
</INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE CONSOLIDATED_LIST [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<CONSOLIDATED_LIST dateGenerated="2026-01-01"><INDIVIDUALS><INDIVIDUAL>
<FIRST_NAME>&secret;</FIRST_NAME><REFERENCE_NUMBER>TAi.998</REFERENCE_NUMBER>
</INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_hostile_xml_is_refused_before_any_entry_is_read(document):
    with pytest.raises(ListFormatError, match="DOCTYPE"):
        parse_un(io.BytesIO(document))


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"<html><body>not a list</body></html>", "Expected a <CONSOLIDATED_LIST>"),
        (b"<CONSOLIDATED_LIST><INDIVIDUALS></INDIVIDUALS></CONSOLIDATED_LIST>", "dateGenerated"),
        (b"", "empty|well-formed"),
    ],
)
def test_files_that_are_not_the_list_are_refused(document, message):
    with pytest.raises(ListFormatError, match=message):
        parsed = parse_un(io.BytesIO(document))
        list(parsed.entries)


def test_a_truncated_list_fails_while_streaming_with_a_format_error():
    broken = (DATA / "un_sample.xml").read_bytes()[:5000]
    parsed = parse_un(io.BytesIO(broken))
    with pytest.raises(ListFormatError, match="well-formed"):
        list(parsed.entries)


def test_the_ofac_files_join_aliases_and_read_birth_and_nationality_from_remarks():
    with open(DATA / "sdn.csv", "rb") as sdn, open(DATA / "alt.csv", "rb") as alt:
        entries = {e.ref: e for e in parse_ofac(sdn, alt, version="2026-10-02").entries}

    assert len(entries) == 13
    siraj = entries["9001"]
    assert siraj.kind == "individual" and siraj.programs == ["SDGT"]
    names = [(n.name, n.quality) for n in siraj.names]
    assert ("HAQQANI, Siraj al-Din", "strong") in names
    assert ("KHALIFA", "weak") in names  # a quoted a.k.a. in Remarks is weak
    assert siraj.birth_years == [(1976, 1979), (1980, 1980)]
    assert siraj.nationalities == ["Afghanistan"]
    assert entries["9006"].kind == "entity"  # SDN_Type "-0- "
    assert entries["9012"].kind == "vessel"


def test_remarks_in_their_usual_shapes():
    years, shown, nationalities, weak = parse_remarks(
        "DOB 01 Jan 1960; alt. DOB 1958 to 1962; POB Kandahar; citizen Pakistan; a.k.a. 'ABU X'."
    )
    assert years == [(1960, 1960), (1958, 1962)]
    assert shown == ["01 Jan 1960", "1958 to 1962"]
    assert nationalities == ["Pakistan"]
    assert weak == ["ABU X"]


def test_a_csv_that_is_not_sdn_csv_is_refused():
    with pytest.raises(ListFormatError, match="12 comma-separated fields"):
        list(parse_ofac(io.BytesIO(b"name,type\nfoo,bar\n"), version="x").entries)
