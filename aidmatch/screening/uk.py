"""The UK Sanctions List (FCDO), in its published CSV (``UK-Sanctions-List.csv``).

Since 28 January 2026 this list is the single official source of UK designations (it replaced
OFSI's Consolidated List). The first line is metadata (``Report Date: …``, the version); then a
header and one row per *name*: the rows of a designation share its ``Unique ID`` (such as
``AFG0001``). Columns read here: ``Unique ID``, ``UN Reference Number``, ``Name 1`` … ``Name 5``
(given and other names) and ``Name 6`` (family name, or the entity's name), ``Name type``
(``Primary Name``, ``Primary Name Variation``, ``Alias``), ``Alias strength`` (``Good quality
a.k.a`` / ``Low quality a.k.a``), ``Name non-latin script``, ``Regime Name``, ``Designation Type``
(``Individual``, ``Entity``, ``Ship``; ``Individual, Entity, Ship`` in older files), ``D.O.B``
(``dd/mm/yyyy``, unknown parts as ``00``), ``Nationality(/ies)``, ``Date Designated``.
Other columns are ignored, so their order does not matter.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import BinaryIO

from aidmatch.screening.types import ListedName, ListEntry, ListFormatError, ParsedList

REQUIRED = ("Unique ID", "Name 6", "Name type")
TYPE_COLUMNS = ("Designation Type", "Individual, Entity, Ship")
KINDS = {"individual": "individual", "entity": "entity", "ship": "vessel"}
_SPACE = re.compile(r"\s+")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_REPORT_DATE = re.compile(r"^\W*report date\s*:?\s*(.+?)[\s,\"]*$", re.IGNORECASE)


def _clean(value: str | None) -> str:
    return _SPACE.sub(" ", value or "").strip()


def _text(stream: BinaryIO) -> io.TextIOWrapper:
    return io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")


def parse_uk(stream: BinaryIO, *, version: str | None = None) -> ParsedList:
    """The designations of the file, each with all its names. The version is the file's Report
    Date, unless ``version`` is given. Raises ListFormatError on a malformed file."""
    text = _text(stream)
    try:
        first = text.readline()
    except UnicodeDecodeError as exc:
        raise ListFormatError("The file is not UTF-8 text.") from exc
    if not first.strip():
        raise ListFormatError("The file is empty.")
    report = _REPORT_DATE.match(first.strip())
    if report:
        header_line = ""
        version = version or report.group(1)
    else:
        header_line = first  # no metadata line: the header comes first
    if not version:
        raise ListFormatError("No 'Report Date' line and no version given.")
    lines = _chain(header_line, text)
    try:
        reader = csv.DictReader(lines)
        columns = reader.fieldnames or []
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ListFormatError(f"Unreadable CSV header: {exc}") from exc
    missing = [c for c in REQUIRED if c not in columns]
    type_column = next((c for c in TYPE_COLUMNS if c in columns), None)
    if missing or type_column is None:
        missing += [] if type_column else [TYPE_COLUMNS[0]]
        raise ListFormatError(
            f"Not the UK Sanctions List CSV: missing columns {', '.join(missing)}."
        )
    return ParsedList(
        source="uk", version=version.strip()[:100], entries=_entries(reader, type_column)
    )


def _chain(first: str, rest) -> Iterator[str]:
    if first:
        yield first
    yield from rest


def _rows(reader: csv.DictReader) -> Iterator[tuple[int, dict]]:
    try:
        for number, row in enumerate(reader, start=2):
            if None in row or None in row.values():
                raise ListFormatError(
                    f"UK list line {number}: expected {len(reader.fieldnames)} fields."
                )
            yield number, row
    except UnicodeDecodeError as exc:
        raise ListFormatError("The file is not UTF-8 text.") from exc
    except csv.Error as exc:
        raise ListFormatError(f"Unreadable CSV: {exc}") from exc


def _full_name(row: dict) -> str:
    parts = [_clean(row.get(f"Name {i}")) for i in range(1, 7)]
    return " ".join(p for p in parts if p)


def _entries(reader: csv.DictReader, type_column: str) -> Iterator[ListEntry]:
    """Rows grouped by Unique ID (in first-seen order): a designation's rows need not be
    adjacent, so the file is read whole before the first entry is given."""
    found: dict[str, ListEntry] = {}
    for number, row in _rows(reader):
        ref = _clean(row["Unique ID"])
        if not ref:
            raise ListFormatError(f"UK list line {number}: no Unique ID.")
        entry = found.get(ref)
        if entry is None:
            kind = KINDS.get(_clean(row[type_column]).lower(), "entity")
            entry = found[ref] = ListEntry(ref=ref[:50], kind=kind, primary_name="")
            entry.extra = {"un_reference": _clean(row.get("UN Reference Number"))}
            entry.extra["designated_on"] = _clean(row.get("Date Designated"))
        _add_row(entry, row)
    for entry in found.values():
        if not entry.names:
            continue
        if not entry.primary_name:
            entry.primary_name = entry.names[0].name[:500]
        yield entry


def _add_row(entry: ListEntry, row: dict) -> None:
    name = _full_name(row)
    known = {n.name.casefold() for n in entry.names}
    name_type = _clean(row.get("Name type")).lower()
    if name and name.casefold() not in known:
        weak = _clean(row.get("Alias strength")).lower().startswith("low")
        primary = name_type == "primary name" and not entry.primary_name
        entry.names.append(
            ListedName(name, "primary" if primary else "alias", "weak" if weak else "strong")
        )
        if primary:
            entry.primary_name = name[:500]
    original = _clean(row.get("Name non-latin script"))
    if original and original.casefold() not in known:
        entry.names.append(ListedName(original, "original_script", "strong"))
    _add_once(entry.programs, _clean(row.get("Regime Name")))
    for nationality in re.split(r"[;,]|\(\d+\)", _clean(row.get("Nationality(/ies)"))):
        _add_once(entry.nationalities, nationality.strip())
    written = _clean(row.get("D.O.B"))
    year = _YEAR.search(written)
    if year and written not in entry.birth_dates:
        entry.birth_dates.append(written)
        entry.birth_years.append((int(year.group(1)), int(year.group(1))))


def _add_once(values: list[str], value: str) -> None:
    if value and value not in values:
        values.append(value)
