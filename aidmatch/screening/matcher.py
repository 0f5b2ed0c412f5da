"""Screening names against loaded lists: an index of normalized list names, and the evidence
(date of birth, nationality) that raises or lowers a name's score.

The index holds every name of every entry, normalized once, in flat lists that rapidfuzz's
``process.extract`` scans in C++ with a score cutoff; only the few candidates that pass are
scored in full. Build it once per list version (apps/screening caches it per process).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from aidmatch.screening.names import NameForm, normalize, score
from aidmatch.screening.types import ListEntry

# Evidence, where both sides have it.
BIRTH_YEAR_MATCH = 4.0  # within the listed range, or a year either side of it
BIRTH_YEAR_MISMATCH = -15.0
NATIONALITY_MATCH = 1.0  # weak: most principals and most listed people here are Afghan
NATIONALITY_MISMATCH = -8.0
WEAK_ALIAS_PENALTY = 8.0  # the list's own low-quality aliases ("Khalifa")
# A name scoring at least this is never taken below the threshold by declared details.
NEAR_EXACT_NAME = 97.0
MAX_RAISE = BIRTH_YEAR_MATCH + NATIONALITY_MATCH
PREFILTER_MARGIN = 25.0  # candidates within this of the threshold are scored in full
PREFILTER_LIMIT = 200

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


class NameIndex:
    """Every name of every entry, normalized, ready to be scanned."""

    def __init__(self, entries: list[ListEntry]) -> None:
        self.entries = entries
        self.forms: list[NameForm] = []
        self.names: list[tuple[int, str, str, str]] = []  # (entry, name, kind, quality)
        for i, entry in enumerate(entries):
            organization = entry.kind != "individual"
            for listed in entry.names:
                form = normalize(listed.name, organization=organization)
                if not form.tokens:
                    continue
                self.forms.append(form)
                self.names.append((i, listed.name, listed.kind, listed.quality))
        self._texts = [f.text for f in self.forms]
        self._skeletons = [f.skeleton_text for f in self.forms]
        self._individual = [entries[i].kind == "individual" for i, *_ in self.names]

    def __len__(self) -> int:
        return len(self.forms)

    def _candidates(self, form: NameForm, cutoff: float) -> set[int]:
        found: set[int] = set()
        passes = [(form.skeleton_text, self._skeletons)]
        if form.original_script == "latin":
            passes.append((form.text, self._texts))
        for query, choices in passes:
            for scorer in (fuzz.token_set_ratio, fuzz.token_sort_ratio):
                for _, _, k in process.extract(
                    query, choices, scorer=scorer, score_cutoff=cutoff, limit=PREFILTER_LIMIT
                ):
                    found.add(k)
        return found

    def screen(self, subject: Subject, *, threshold: float) -> list[Match]:
        """The entries this subject matches at ``threshold`` or above, best name per entry."""
        form = normalize(subject.name, organization=not subject.is_person)
        if not form.tokens:
            return []
        best: dict[int, Match] = {}
        for k in self._candidates(form, max(0.0, threshold - MAX_RAISE - PREFILTER_MARGIN)):
            entry_index, listed_name, name_kind, quality = self.names[k]
            entry = self.entries[entry_index]
            if subject.is_person and not self._individual[k]:
                continue  # a person is screened against listed people only
            listed = self.forms[k]
            value, how = score(form, listed)
            reasons = [f"{how}: {value:.1f} against the listed {name_kind.replace('_', ' ')}"]
            if quality == "weak":
                value -= WEAK_ALIAS_PENALTY
                reasons.append(f"low-quality alias (-{WEAK_ALIAS_PENALTY:g})")
            if (listed.size == 1 or form.size == 1) and listed.tokens != form.tokens:
                continue  # one-word names match only exactly
            delta, why = evidence(subject, entry) if subject.is_person else (0.0, [])
            name_value, value = value, min(100.0, value + delta)
            reasons += why
            if value < threshold <= name_value and name_value >= NEAR_EXACT_NAME:
                # Birth year and nationality are declared by the organization itself: they may
                # lower a score, but never clear a near-exact name without a verifier's look.
                value = threshold
                reasons.append("near-exact name: differing declared details do not clear it")
            if value < threshold:
                continue
            current = best.get(entry_index)
            if current is None or value > current.score:
                best[entry_index] = Match(subject, entry, listed_name, round(value, 2), reasons)
        return sorted(best.values(), key=lambda m: (-m.score, m.entry.ref))

    def screen_all(self, subjects: list[Subject], *, threshold: float) -> list[Match]:
        out: list[Match] = []
        for subject in subjects:
            out.extend(self.screen(subject, threshold=threshold))
        return out
