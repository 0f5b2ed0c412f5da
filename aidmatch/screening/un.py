"""The UN Security Council Consolidated List, in its published XML.

``CONSOLIDATED_LIST`` (its ``dateGenerated`` attribute is the version) holds ``INDIVIDUALS >
INDIVIDUAL`` (FIRST_NAME … FOURTH_NAME, UN_LIST_TYPE, REFERENCE_NUMBER such as ``TAi.144``,
NAME_ORIGINAL_SCRIPT, INDIVIDUAL_ALIAS with QUALITY and ALIAS_NAME, INDIVIDUAL_DATE_OF_BIRTH,
NATIONALITY/VALUE) and ``ENTITIES > ENTITY`` (FIRST_NAME, ENTITY_ALIAS).

The file is read as a stream, each entry freed once read, with a DOCTYPE refused
(aidmatch/screening/xmlstream.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from lxml import etree

from aidmatch.screening.types import ListedName, ListEntry, ListFormatError, ParsedList
from aidmatch.screening.xmlstream import free, open_list

ROOT = "CONSOLIDATED_LIST"
_SPACE = re.compile(r"\s+")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


def _text(element, tag: str) -> str:
    child = element.find(tag)
    if child is None or child.text is None:
        return ""
    return _SPACE.sub(" ", child.text).strip()


def _values(element, tag: str) -> list[str]:
    """The VALUE texts of every ``tag`` child (NATIONALITY/VALUE, TITLE/VALUE, …)."""
    out = []
    for holder in element.findall(tag):
        for value in holder.findall("VALUE"):
            if value.text and value.text.strip():
                out.append(_SPACE.sub(" ", value.text).strip())
    return out


def _birth(element) -> tuple[list[tuple[int, int]], list[str]]:
    years: list[tuple[int, int]] = []
    shown: list[str] = []
    for dob in element.findall("INDIVIDUAL_DATE_OF_BIRTH"):
        kind = _text(dob, "TYPE_OF_DATE").upper()
        date, year = _text(dob, "DATE"), _text(dob, "YEAR")
        low, high = _text(dob, "FROM_YEAR"), _text(dob, "TO_YEAR")
        if low and high and _YEAR.fullmatch(low) and _YEAR.fullmatch(high):
            a, b = sorted((int(low), int(high)))
            years.append((a, b))
            shown.append(f"{a}-{b}")
            continue
        found = _YEAR.search(date) or _YEAR.search(year)
        if not found:
            continue
        y = int(found.group(1))
        years.append((y - 1, y + 1) if kind.startswith("APPROX") else (y, y))
        shown.append(("approximately " if kind.startswith("APPROX") else "") + (date or year))
    return years, shown


def _entry(element, kind: str) -> ListEntry | None:
    parts = [_text(element, t) for t in ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")]
    primary = " ".join(p for p in parts if p)
    ref = _text(element, "REFERENCE_NUMBER") or _text(element, "DATAID")
    if not primary or not ref:
        return None  # nothing to screen against
    names = [ListedName(primary, "primary", "strong")]
    original = _text(element, "NAME_ORIGINAL_SCRIPT")
    if original:
        names.append(ListedName(original, "original_script", "strong"))
    alias_tag = "INDIVIDUAL_ALIAS" if kind == "individual" else "ENTITY_ALIAS"
    for alias in element.findall(alias_tag):
        name = _text(alias, "ALIAS_NAME")
        if not name:
            continue
        quality = "weak" if _text(alias, "QUALITY").lower() == "low" else "strong"
        names.append(ListedName(name, "alias", quality))
    years, shown = _birth(element) if kind == "individual" else ([], [])
    list_type = _text(element, "UN_LIST_TYPE")
    return ListEntry(
        ref=ref[:50],
        kind=kind,
        primary_name=primary[:500],
        names=names,
        birth_years=years,
        birth_dates=shown,
        nationalities=_values(element, "NATIONALITY"),
        programs=[list_type] if list_type else [],
        extra={
            "dataid": _text(element, "DATAID"),
            "listed_on": _text(element, "LISTED_ON"),
            "titles": _values(element, "TITLE"),
        },
    )


def parse_un(source: str | BinaryIO) -> ParsedList:
    """Open the list (a path or a binary file) and return its version and a stream of entries.

    Raises ListFormatError for a file that is not the Consolidated List, is malformed, or
    declares a DOCTYPE."""
    events, root = open_list(source, root_name=ROOT, list_name="UN Consolidated List")
    version = (root.get("dateGenerated") or "").strip()
    if not version:
        raise ListFormatError(f"<{ROOT}> has no dateGenerated attribute (the list's version).")
    return ParsedList(source="un", version=version[:100], entries=_entries(events, root))


def _entries(events, root) -> Iterator[ListEntry]:
    kinds = {"INDIVIDUAL": "individual", "ENTITY": "entity"}
    try:
        for event, element in events:
            if event != "end" or element.tag not in kinds:
                continue
            if element.getparent() is None or element.getparent().getparent() is not root:
                continue  # only INDIVIDUALS/INDIVIDUAL and ENTITIES/ENTITY
            entry = _entry(element, kinds[element.tag])
            free(element)
            if entry is not None:
                yield entry
    except etree.XMLSyntaxError as exc:
        raise ListFormatError(f"Not well-formed XML: {exc}") from exc
