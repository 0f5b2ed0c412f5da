"""Measuring screening: the true-positive rate on spelling variants of listed names, the
false-positive rate on names that are not listed (a file, and a deterministic generator of
unlisted Afghan names), and case sets (initials, joined names, entities in person fields,
scripts, common names alone, relatives) with recall, first rank and false positives
(bench/screening.py, and tests)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from aidmatch.screening.matcher import NameIndex, Subject
from aidmatch.screening.names import normalize


@dataclass
class Evaluation:
    threshold: float
    variants: int
    caught: int
    unlisted: int
    flagged: int
    missed: list[str] = field(default_factory=list)
    false_hits: list[tuple[str, str, float]] = field(default_factory=list)

    @property
    def tp_rate(self) -> float:
        return self.caught / self.variants if self.variants else 1.0

    @property
    def fp_rate(self) -> float:
        return self.flagged / self.unlisted if self.unlisted else 0.0


def read_lines(path) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip() and not line.startswith("#")]


def read_variants(path) -> list[tuple[str, set[str]]]:
    out = []
    for line in read_lines(path):
        name, refs = line.split("\t")
        out.append((name, set(refs.split())))
    return out


def evaluate(
    index: NameIndex, variants: list[tuple[str, set[str]]], unlisted: list[str], threshold: float
) -> Evaluation:
    """A variant is caught when a hit names one of its entries; an unlisted name is a false
    positive when it hits anything. Names are screened as principals (people)."""
    result = Evaluation(threshold, len(variants), 0, len(unlisted), 0)
    for name, refs in variants:
        hits = index.screen(Subject("principal", name), threshold=threshold)
        if any(h.entry.ref in refs for h in hits):
            result.caught += 1
        else:
            result.missed.append(name)
    for name in unlisted:
        hits = index.screen(Subject("principal", name), threshold=threshold)
        if hits:
            result.flagged += 1
            result.false_hits.append((name, hits[0].matched_name, hits[0].score))
    return result


@dataclass
class Case:
    case_set: str
    field: str  # principal | name
    name: str
    refs: set[str]  # any one of them is the right entry; empty: must hit nothing


@dataclass
class CaseSetResult:
    """One case set at one threshold: recall (a right entry among the hits), first rank (the
    right entry first, of the caught), false positives (a name with a hit on any other entry),
    and the time per name."""

    name: str
    cases: int = 0
    expected: int = 0
    caught: int = 0
    first: int = 0
    flagged: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float | None:
        return self.caught / self.expected if self.expected else None

    @property
    def first_rank(self) -> float | None:
        return self.first / self.caught if self.caught else None

    @property
    def fp_rate(self) -> float:
        return self.flagged / self.cases if self.cases else 0.0


def read_cases(path) -> list[Case]:
    out = []
    for line in read_lines(path):
        case_set, kind, name, *refs = line.split("\t")
        out.append(Case(case_set, kind, name, set(" ".join(refs).split())))
    return out


def evaluate_cases(index: NameIndex, cases: list[Case], threshold: float) -> list[CaseSetResult]:
    results: dict[str, CaseSetResult] = {}
    for case in cases:
        r = results.setdefault(case.case_set, CaseSetResult(case.case_set))
        started = time.perf_counter()
        hits = index.screen(Subject(case.field, case.name), threshold=threshold)
        r.seconds += time.perf_counter() - started
        r.cases += 1
        refs = [h.entry.ref for h in hits]
        if case.refs:
            r.expected += 1
            if case.refs & set(refs):
                r.caught += 1
                r.first += refs[0] in case.refs
                if refs[0] not in case.refs:
                    r.failures.append(f"{case.name}: ranked first {refs[0]}")
            else:
                r.failures.append(f"{case.name}: missed ({', '.join(refs) or 'no hit'})")
        others = [ref for ref in refs if ref not in case.refs]
        if others:
            r.flagged += 1
            r.failures.append(f"{case.name}: also hits {', '.join(others)}")
    return list(results.values())


def _words(text: str) -> list[str]:
    return text.split()


# Afghan given names (men and women; common and less common, some compounds) and family or
# tribal names, to build unlisted names: every combination whose family name is on no list.
GIVEN = _words(
    """
Mohammad Ahmad Abdul Gul Ali Hassan Hussain Karim Rahim Aziz Habib Hamid Wali Nabi Omar Yusuf
Qasim Ghani Jalal Bashir Nasir Sharif Latif Hakim Salam Wahid Majid Rashid Mahmud Khalil Ibrahim
Ismail Daud Jamil Sadiq Farid Jawad Shafiq Tariq Omid Mustafa Idris Ajmal Sohail Fawad Mirwais
Yama Najib Sami Rafi Ezat Zabihullah Samiullah Najibullah Habibullah Rahmatullah Hekmatullah
Sirajuddin Jalaluddin Nooruddin Khairullah Baqi Basir Kabir Qadir Yahya Abbas Akhtar Hidayat
Fatima Maryam Zahra Shukria Nilofar Farzana Habiba Malalai Roya Sima Latifa Nargis Parwin Wahida
"""
)
FAMILY = _words(
    """
Ahmadzai Wardak Popalzai Karimi Rahimi Sultani Sadat Mangal Kakar Safi Zazai Stanikzai Barakzai
Achakzai Alokozai Shinwari Hashimi Haidari Hakimi Azizi Habibi Nazari Amiri Mohammadi Niazi
Jalali Sherzad Paiwand Rasuli Ghafoori Nawabi Samadi Yousufzai Mohmand Durrani Tarakai Hotak
Baheer Taniwal Arsala Ludin Sahak Andar Tokhi Kharoti Jaji Zadran Mangal Hamidi Qaderi Faizi
"""
)


def unlisted_names(index: NameIndex, count: int = 1200, seed: int = 15) -> list[str]:
    """``count`` distinct unlisted Afghan names, the same every run: one or two given names
    (or an initial and a given name) and a family name carried by no listed name."""
    listed = {t for form in index.forms for t in form.tokens}
    families = [f for f in dict.fromkeys(FAMILY) if normalize(f).tokens[0] not in listed]
    rng = random.Random(seed)
    out: dict[str, None] = {}
    while len(out) < count:
        family = rng.choice(families)
        shape = rng.random()
        if shape < 0.55:
            name = f"{rng.choice(GIVEN)} {family}"
        elif shape < 0.9:
            name = f"{rng.choice(GIVEN)} {rng.choice(GIVEN)} {family}"
        else:
            name = f"{rng.choice(GIVEN)[0]}. {rng.choice(GIVEN)} {family}"
        out[name] = None
    return list(out)
