"""The US OFAC SDN list, in its published CSV files.

``sdn.csv`` has no header; each row is ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign,
Vess_type, Tonnage, GRT, Vess_flag, Vess_owner, Remarks, with ``-0-`` (often ``-0- ``) for an
empty field. Dates of birth and nationalities live in Remarks (``DOB circa 1977 to 1978;
nationality Afghanistan; a.k.a. 'KHALIFA'``; a quoted a.k.a. there is a weak alias).
``alt.csv`` rows are ent_num, alt_num, alt_type (aka/fka/nka), alt_name, alt_remarks.
The files carry no date: the caller names the version.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from aidmatch.screening.types import ListedName, ListEntry, ListFormatError, ParsedList

SDN_COLUMNS = 12
ALT_COLUMNS = 5
KINDS = {"individual": "individual", "vessel": "vessel", "aircraft": "aircraft", "": "entity"}
_DOB = re.compile(r"(?:^|;)\s*(?:alt\.\s*)?DOB\s+([^;]+)", re.IGNORECASE)
_NATIONALITY = re.compile(
    r"(?:^|;)\s*(?:alt\.\s*)?(?:nationality|citizen)\s+([^;]+)", re.IGNORECASE
)
_WEAK_AKA = re.compile(r"a\.k\.a\.\s*'([^']+)'", re.IGNORECASE)
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_SPACE = re.compile(r"\s+")


def _clean(value: str) -> str:
    value = _SPACE.sub(" ", value or "").strip()
    return "" if value == "-0-" else value


def _lines(stream: BinaryIO) -> Iterator[str]:
    """Decoded lines: UTF-8, or Windows-1252 for a line that is not UTF-8."""
    for raw in stream:
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            yield raw.decode("cp1252", errors="replace")


def _rows(stream: BinaryIO, width: int, what: str) -> Iterator[list[str]]:
    for number, row in enumerate(csv.reader(_lines(stream)), start=1):
        if not row or (len(row) == 1 and not row[0].strip(" \x1a")):
            continue  # blank lines and the DOS end-of-file mark
        if len(row) != width or not row[0].strip().isdigit():
            raise ListFormatError(
                f"{what} line {number}: expected {width} comma-separated fields starting with "
                f"an entity number, found {len(row)}."
            )
        yield [_clean(v) for v in row]


def parse_remarks(remarks: str) -> tuple[list[tuple[int, int]], list[str], list[str], list[str]]:
    """(birth-year ranges, birth dates as written, nationalities, weak aliases) from Remarks."""
    text = remarks.rstrip(".")
    years: list[tuple[int, int]] = []
    shown: list[str] = []
    for match in _DOB.finditer(text):
        written = match.group(1).strip()
        found = [int(y) for y in _YEAR.findall(written)]
        if not found:
            continue
        shown.append(written)
        low, high = min(found), max(found)
        if "circa" in written.lower():
            low, high = low - 1, high + 1
        years.append((low, high))
    nationalities = [m.group(1).strip() for m in _NATIONALITY.finditer(text)]
    weak = [m.group(1).strip() for m in _WEAK_AKA.finditer(remarks)]
    return years, shown, nationalities, weak


def _aliases(stream: BinaryIO | None) -> dict[str, list[ListedName]]:
    found: dict[str, list[ListedName]] = {}
    if stream is None:
        return found
    for ent_num, _alt_num, _alt_type, alt_name, alt_remarks in _rows(stream, ALT_COLUMNS, "alt"):
        if not alt_name:
            continue
        weak = "weak" in alt_remarks.lower() or "low quality" in alt_remarks.lower()
        quality = "weak" if weak else "strong"
        found.setdefault(ent_num, []).append(ListedName(alt_name, "alias", quality))
    return found


def parse_ofac(sdn: BinaryIO, alt: BinaryIO | None = None, *, version: str) -> ParsedList:
    """The SDN entries joined with their aliases. Raises ListFormatError on a malformed file."""
    aliases = _aliases(alt)
    return ParsedList(source="ofac", version=version[:100], entries=_entries(sdn, aliases))


def _entries(sdn: BinaryIO, aliases: dict[str, list[ListedName]]) -> Iterable[ListEntry]:
    for row in _rows(sdn, SDN_COLUMNS, "sdn"):
        ent_num, name, sdn_type, program, title = row[:5]
        remarks = row[11]
        if not name:
            continue
        years, shown, nationalities, weak = parse_remarks(remarks)
        names = [ListedName(name, "primary", "strong")]
        names += aliases.get(ent_num, [])
        names += [ListedName(w, "alias", "weak") for w in weak]
        programs = [p.strip(" []") for p in program.split("] [") if p.strip(" []")]
        yield ListEntry(
            ref=ent_num,
            kind=KINDS.get(sdn_type.lower(), "entity"),
            primary_name=name[:500],
            names=names,
            birth_years=years,
            birth_dates=shown,
            nationalities=nationalities,
            programs=programs,
            extra={"title": title, "remarks": remarks[:2000]},
        )
