"""Name-part alignment on the failures of issue 15: initials, joined and reordered names,
entities named in any field, common names alone, relatives. Hits and rank order, not scores."""

from pathlib import Path

import pytest

from aidmatch.screening.evaluation import evaluate_cases, read_cases, unlisted_names
from aidmatch.screening.matcher import NameIndex, Subject
from aidmatch.screening.ofac import parse_ofac
from aidmatch.screening.un import parse_un

DATA = Path(__file__).resolve().parents[2] / "apps" / "screening" / "data"
THRESHOLD = 88.0
SIRAJUDDIN = {"TAi.144", "9001"}  # UN and OFAC entries of the same man
NETWORK = {"TAe.012", "9006"}


@pytest.fixture(scope="module")
def index():
    entries = list(parse_un(str(DATA / "un_sample.xml")).entries)
    with open(DATA / "sdn.csv", "rb") as sdn, open(DATA / "alt.csv", "rb") as alt:
        entries += list(parse_ofac(sdn, alt, version="sample").entries)
    return NameIndex(entries)


def refs(index, name, field="principal"):
    return [h.entry.ref for h in index.screen(Subject(field, name), threshold=THRESHOLD)]


def test_an_initial_is_credited_against_a_part_starting_with_it(index):
    assert set(refs(index, "S. Haqqani")) == SIRAJUDDIN  # not his father, not his brothers
    assert refs(index, "M. Hassan Akhund") == ["TAi.002"]  # not Mohammad Abbas Akhund
    assert refs(index, "A. B. Noorzai") == ["9004"]  # NOORZAI, Bashir Ahmad
    assert refs(index, "N. Haqqani") == ["9003"]  # Nasiruddin


def test_an_initial_counts_for_less_than_the_full_part(index):
    full = index.screen(Subject("principal", "Siraj Haqqani"), threshold=THRESHOLD)[0]
    initial = index.screen(Subject("principal", "S. Haqqani"), threshold=THRESHOLD)[0]
    assert initial.score < full.score
    assert any("initial" in reason for reason in initial.reasons)


def test_joined_and_reordered_given_names(index):
    assert refs(index, "Mohammadhassan Akhund") == ["TAi.002"]
    assert refs(index, "Hassan Akhund Mohammad") == ["TAi.002"]
    assert set(refs(index, "Khalifa Sirajuddin")) == SIRAJUDDIN  # Khalifa: his listed alias
    assert refs(index, "Abdulbaqi Basir") == ["TAi.045"]


def test_an_entity_named_in_a_persons_field_reaches_the_listed_entity(index):
    assert set(refs(index, "Haqqani Network")) == NETWORK
    assert set(refs(index, "Haqqani Group")) == NETWORK  # generic words are interchangeable


@pytest.mark.parametrize("name", ["شبکه حقانی", "د حقاني شبکه", "شبكة حقاني", "ډله حقاني"])
def test_dari_pashto_and_arabic_generic_words_are_dropped(index, name):
    assert set(refs(index, name, field="name")) == NETWORK


def test_an_organization_named_after_a_listed_person_reaches_the_person(index):
    assert refs(index, "Jalaluddin Haqqani Foundation", field="name") == ["TAi.040"]


@pytest.mark.parametrize(
    "name", ["Abdul Basir", "Haji Abdul Basir", "Mohammad Hassan", "Wali Mohammad", "Khalifa"]
)
def test_common_parts_alone_never_hit(index, name):
    assert refs(index, name) == []
    assert refs(index, name, field="name") == []


def test_a_common_name_with_an_unlisted_surname_does_not_hit(index):
    assert refs(index, "Abdul Basir Karimi") == []
    assert refs(index, "Nasir Ahmad Noorzai") == []  # Noorzai is listed as Bashir Ahmad


@pytest.mark.parametrize(
    ("name", "expected", "relatives"),
    [
        ("سراج الدین حقانی", SIRAJUDDIN, {"TAi.040", "9003", "9002"}),
        ("Sirajuddin Haqqani", SIRAJUDDIN, {"TAi.040", "9003", "9002"}),
        ("Jalaluddin Haqqani", {"TAi.040"}, SIRAJUDDIN),
        ("جلال الدین حقانی", {"TAi.040"}, SIRAJUDDIN),
        ("محمد حسن آخوند", {"TAi.002"}, {"TAi.001"}),
        ("Mohammad Abbas Akhund", {"TAi.001"}, {"TAi.002"}),
    ],
)
def test_relatives_sharing_a_surname_do_not_both_rank_as_hits(index, name, expected, relatives):
    found = refs(index, name)
    assert found and found[0] in expected
    assert set(found) <= expected and not set(found) & relatives


def test_hits_rank_the_best_entry_first_with_reasons_in_words(index):
    hits = index.screen(Subject("principal", "Siraj Haqany"), threshold=0)
    assert hits[0].entry.ref in SIRAJUDDIN
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert any(r.startswith("matched parts: ") and "spelling" in r for r in hits[0].reasons)
    jalal = next(h for h in hits if h.entry.ref == "TAi.040")
    assert any("given name" in reason for reason in jalal.reasons)


def test_every_case_set_meets_the_targets(index):
    results = evaluate_cases(index, read_cases(DATA / "screening_cases.tsv"), THRESHOLD)

    assert {r.name for r in results} == {
        "initials",
        "joined",
        "entities",
        "scripts",
        "common",
        "relatives",
    }
    for r in results:
        assert r.recall in (None, 1.0), r.failures
        assert r.first_rank is None or r.first_rank >= 0.95, r.failures
        assert r.flagged == 0, r.failures


def test_at_most_one_percent_of_generated_unlisted_names_hit(index):
    names = unlisted_names(index, 1200)
    assert len(names) == 1200 and names == unlisted_names(index, 1200)  # deterministic

    flagged = [n for n in names if refs(index, n)]

    assert len(flagged) <= len(names) // 100, flagged
