"""Screening names against loaded lists: an index of normalized list names, and the evidence
(date of birth, nationality) that raises or lowers a name's score.

The index holds every name of every entry, normalized once, the weights of their parts, and
postings from their distinctive parts to the names; only names sharing a distinctive part with
the screened one are aligned in full. Build it once per list version (apps/screening caches it
per process).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations

from rapidfuzz import fuzz, process

from aidmatch.screening.alignment import MATCH_MIN, SKELETON_TAILS, TAILS, align, split_tail
from aidmatch.screening.names import NameForm, normalize
from aidmatch.screening.types import ListEntry
from aidmatch.screening.weights import DISTINCTIVE, PartWeights

# Evidence, where both sides have it.
BIRTH_YEAR_MATCH = 4.0  # within the listed range, or a year either side of it
BIRTH_YEAR_MISMATCH = -15.0
NATIONALITY_MATCH = 1.0  # weak: most principals and most listed people here are Afghan
NATIONALITY_MISMATCH = -8.0
WEAK_ALIAS_PENALTY = 8.0  # the list's own low-quality aliases ("Khalifa")
# A name scoring at least this is never taken below the threshold by declared details.
NEAR_EXACT_NAME = 97.0
MAX_RAISE = BIRTH_YEAR_MATCH + NATIONALITY_MATCH
PREFILTER = MATCH_MIN * 100  # a distinctive listed part this alike to a screened part: aligned

_NATIONALITY_WORDS = {"afghan": "afghanistan", "pakistani": "pakistan", "iranian": "iran"}


@dataclass(frozen=True)
class Subject:
    """A name to screen: an organization's name or alias, or a principal's name."""

    kind: str  # name | alias | principal
    name: str
    birth_year: int | None = None
    nationality: str = ""

    @property
    def is_person(self) -> bool:
        return self.kind == "principal"


@dataclass
class Match:
    subject: Subject
    entry: ListEntry
    matched_name: str
    score: float
    reasons: list[str] = field(default_factory=list)


def _country(value: str) -> str:
    v = " ".join(value.casefold().replace(".", " ").split())
    return _NATIONALITY_WORDS.get(v, v)


def evidence(subject: Subject, entry: ListEntry) -> tuple[float, list[str]]:
    """Points added or taken for birth year and nationality, and why."""
    delta, reasons = 0.0, []
    if subject.birth_year and entry.birth_years:
        y = subject.birth_year
        if any(low - 1 <= y <= high + 1 for low, high in entry.birth_years):
            delta += BIRTH_YEAR_MATCH
            reasons.append(f"birth year {y} matches the listed {', '.join(entry.birth_dates)}")
        else:
            delta += BIRTH_YEAR_MISMATCH
            reasons.append(f"birth year {y} differs from the listed {', '.join(entry.birth_dates)}")
    if subject.nationality and entry.nationalities:
        mine = _country(subject.nationality)
        listed = {_country(n) for n in entry.nationalities}
        if mine in listed:
            delta += NATIONALITY_MATCH
            reasons.append(f"nationality {subject.nationality} as listed")
        else:
            delta += NATIONALITY_MISMATCH
            reasons.append(
                f"nationality {subject.nationality} differs from the listed "
                f"{', '.join(entry.nationalities)}"
            )
    return delta, reasons


_SAME_FIRST = str.maketrans({"z": "d", "a": "", "e": "", "i": "", "u": "", "w": "", "y": ""})


def _bucket(part: str) -> str:
    """The first consonant (ض is d in transliteration, ظ/ذ z in Latin spellings: one bucket)."""
    return part.translate(_SAME_FIRST)[:1]


def _wholes(form: NameForm) -> list[tuple[str, ...]]:
    """Keys for names of common parts only: the whole name (up to three parts), or any three
    of its parts (by consonants, in any order)."""
    parts = sorted(form.skeleton)
    if len(parts) <= 3:
        return [tuple(parts)]
    return list(dict.fromkeys(combinations(parts, 3)))


class NameIndex:
    """Every name of every entry, normalized (people as people, entities with their generic
    words dropped), with the weights of their parts and, for the distinctive parts, postings
    from a part (its letters, its consonants, the stem of a compound) to the names holding it.

    Screening looks a screened name's parts up in those postings (exactly, then by rapidfuzz
    over the distinctive vocabulary), so only names sharing a distinctive part are aligned in
    full: a hit needs one (aidmatch/screening/alignment.py).
    """

    def __init__(self, entries: list[ListEntry]) -> None:
        self.entries = entries
        self.forms: list[NameForm] = []
        self.names: list[tuple[int, str, str, str]] = []  # (entry, name, kind, quality)
        per_entry: list[list[NameForm]] = []
        for i, entry in enumerate(entries):
            organization = entry.kind != "individual"
            forms = []
            for listed in entry.names:
                form = normalize(listed.name, organization=organization)
                if not form.tokens:
                    continue
                forms.append(form)
                self.forms.append(form)
                self.names.append((i, listed.name, listed.kind, listed.quality))
            per_entry.append(forms)
        self.weights = PartWeights(per_entry)
        self._aliases = [
            frozenset(t for f in forms if f.size == 1 for t in (*f.tokens, *f.skeleton))
            for forms in per_entry
        ]
        self._individual = [entries[i].kind == "individual" for i, *_ in self.names]
        self._by_token: dict[str, list[int]] = defaultdict(list)
        self._by_skeleton: dict[str, list[int]] = defaultdict(list)
        self._by_whole: dict[tuple[str, ...], list[int]] = defaultdict(list)
        for k, form in enumerate(self.forms):
            arabic = form.original_script == "arabic"
            for key in _wholes(form):  # names of common parts only: by three parts at once
                self._by_whole[key].append(k)
            for token, skeleton in zip(form.tokens, form.skeleton, strict=False):
                if self.weights.weight(token, skeleton, arabic=arabic) < DISTINCTIVE:
                    continue
                if not arabic:
                    self._by_token[token].append(k)
                    stem, tail = split_tail(token, TAILS)
                    if tail:
                        self._by_token[stem].append(k)
                self._by_skeleton[skeleton].append(k)
                stem, tail = split_tail(skeleton, SKELETON_TAILS)
                if tail:
                    self._by_skeleton[stem].append(k)
        # the vocabulary to look parts up in, by first consonant (spelling variants share it)
        self._vocabulary: dict[tuple[str, str], list[str]] = defaultdict(list)
        for token in self._by_token:
            self._vocabulary[("letters", _bucket(token))].append(token)
        for skeleton in self._by_skeleton:
            self._vocabulary[("consonants", _bucket(skeleton))].append(skeleton)

    def __len__(self) -> int:
        return len(self.forms)

    def _candidates(self, form: NameForm) -> set[int]:
        """Names sharing a distinctive part with this one, spelled alike (``PREFILTER``: two
        parts pair up only when their letters or their consonants are that alike)."""
        found = {k for key in _wholes(form) for k in self._by_whole.get(key, ())}
        passes = [("consonants", form.skeleton, self._by_skeleton)]
        if form.original_script == "latin":
            passes.append(("letters", form.tokens, self._by_token))
        for kind, parts, postings in passes:
            for part in parts:
                if len(part) < 2:
                    continue
                queries = {part}
                stem, tail = split_tail(part, TAILS + SKELETON_TAILS)
                if tail:
                    queries.add(stem)
                for query in queries:
                    found.update(postings.get(query, ()))
                    vocabulary = self._vocabulary.get((kind, _bucket(query)), [])
                    for _, _, v in process.extract(
                        query, vocabulary, scorer=fuzz.ratio, score_cutoff=PREFILTER, limit=None
                    ):
                        found.update(postings[vocabulary[v]])
        return found

    def screen(self, subject: Subject, *, threshold: float) -> list[Match]:
        """The entries this subject matches at ``threshold`` or above, best name per entry,
        best entry first. Every subject is compared with listed people (as a person's name)
        and with listed entities (its generic words dropped)."""
        entity = normalize(subject.name, organization=True)
        # An organization's name without its generic words ("Jalaluddin Haqqani Foundation")
        # is compared with listed people too; a principal's name as a person's.
        person = normalize(subject.name) if subject.is_person else entity
        best: dict[int, Match] = {}
        for form, individuals in ((person, True), (entity, False)):
            if not form.tokens:
                continue
            candidates = self._candidates(form)
            for k in candidates:
                if self._individual[k] != individuals:
                    continue
                match = self._match(subject, form, k, threshold)
                if match is None:
                    continue
                entry_index = self.names[k][0]
                current = best.get(entry_index)
                if current is None or match.score > current.score:
                    best[entry_index] = match
        return sorted(best.values(), key=lambda m: (-m.score, m.entry.ref))

    def _match(self, subject: Subject, form: NameForm, k: int, threshold: float) -> Match | None:
        entry_index, listed_name, name_kind, quality = self.names[k]
        entry = self.entries[entry_index]
        result = align(
            form,
            self.forms[k],
            self.weights,
            aliases=self._aliases[entry_index],
            people=self._individual[k],
        )
        value = result.score
        if value < threshold - MAX_RAISE:
            return None
        reasons = [f"{value:.1f} against the listed {name_kind.replace('_', ' ')}"]
        reasons += result.reasons
        if quality == "weak":
            value -= WEAK_ALIAS_PENALTY
            reasons.append(f"low-quality alias (-{WEAK_ALIAS_PENALTY:g})")
        delta, why = (
            evidence(subject, entry) if subject.is_person and self._individual[k] else (0.0, [])
        )
        name_value, value = value, min(100.0, value + delta)
        reasons += why
        if value < threshold <= name_value and name_value >= NEAR_EXACT_NAME:
            # Birth year and nationality are declared by the organization itself: they may
            # lower a score, but never clear a near-exact name without a verifier's look.
            value = threshold
            reasons.append("near-exact name: differing declared details do not clear it")
        if value < threshold:
            return None
        return Match(subject, entry, listed_name, round(value, 2), reasons)

    def screen_all(self, subjects: list[Subject], *, threshold: float) -> list[Match]:
        out: list[Match] = []
        for subject in subjects:
            out.extend(self.screen(subject, threshold=threshold))
        return out
