"""The EU Consolidated Financial Sanctions List, in its published XML (the FSF file
``xmlFullSanctionsList_1_1``).

The root ``export`` (namespace ``http://eu.europa.ec/fpi/fsd/export``; its ``generationDate``
attribute is the version) holds ``sanctionEntity`` elements (attributes ``euReferenceNumber``
such as ``EU.2714.55``, ``unitedNationId``, ``logicalId``, ``designationDate``) with children:

- ``subjectType code="person|enterprise"``;
- ``regulation programme="AFG|TAQA|…"`` (the sanctions programme);
- ``nameAlias`` (``wholeName``, ``firstName``, ``middleName``, ``lastName``, ``function``,
  ``title``, ``nameLanguage``, ``strong="true|false"``): every name, in every language, the first
  one being the primary; ``strong="false"`` is a weak alias;
- ``birthdate`` (``birthdate="1977-01-01"``, ``year``, ``circa="true|false"``);
- ``citizenship countryDescription="AFGHANISTAN"``.

Read as a stream, a DOCTYPE refused (aidmatch/screening/xmlstream.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from lxml import etree

from aidmatch.screening.types import ListedName, ListEntry, ListFormatError, ParsedList
from aidmatch.screening.xmlstream import free, open_list

ROOT = "export"
KINDS = {"person": "individual", "enterprise": "entity"}
_SPACE = re.compile(r"\s+")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_LATIN = re.compile(r"^[\sA-Za-z\u00C0-\u024F0-9'’\-.,()/&]*$")


def _attr(element, name: str) -> str:
    return _SPACE.sub(" ", element.get(name) or "").strip()


def _names(element, child) -> list[ListedName]:
    names: list[ListedName] = []
    seen: set[str] = set()
    for alias in element.iter(child("nameAlias")):
        whole = _attr(alias, "wholeName") or " ".join(
            p for p in (_attr(alias, k) for k in ("firstName", "middleName", "lastName")) if p
        )
        if not whole or whole.casefold() in seen:
            continue
        seen.add(whole.casefold())
        quality = "weak" if _attr(alias, "strong").lower() == "false" else "strong"
        if not _LATIN.match(whole):
            kind = "original_script"
        else:
            kind = "primary" if not any(n.kind == "primary" for n in names) else "alias"
        names.append(ListedName(whole, kind, quality))
    return names


def _birth(element, child) -> tuple[list[tuple[int, int]], list[str]]:
    years: list[tuple[int, int]] = []
    shown: list[str] = []
    for birth in element.iter(child("birthdate")):
        written = _attr(birth, "birthdate") or _attr(birth, "year")
        found = _YEAR.search(written)
        if not found:
            continue
        year = int(found.group(1))
        circa = _attr(birth, "circa").lower() == "true"
        if (year - 1 if circa else year, year + 1 if circa else year) not in years:
            years.append((year - 1, year + 1) if circa else (year, year))
            shown.append(("circa " if circa else "") + written)
    return years, shown


def _entry(element, child) -> ListEntry | None:
    ref = _attr(element, "euReferenceNumber") or _attr(element, "logicalId")
    subject = element.find(child("subjectType"))
    kind = KINDS.get(_attr(subject, "code").lower(), "entity") if subject is not None else "entity"
    names = _names(element, child)
    primary = next((n.name for n in names if n.kind == "primary"), names[0].name if names else "")
    if not ref or not primary:
        return None  # nothing to screen against
    years, shown = _birth(element, child) if kind == "individual" else ([], [])
    nationalities: list[str] = []
    for citizenship in element.iter(child("citizenship")):
        country = _attr(citizenship, "countryDescription")
        if country and country.upper() != "UNKNOWN" and country not in nationalities:
            nationalities.append(country)
    programs: list[str] = []
    for regulation in element.iter(child("regulation")):
        programme = _attr(regulation, "programme")
        if programme and programme not in programs:
            programs.append(programme)
    functions = [_attr(a, "function") for a in element.iter(child("nameAlias"))]
    return ListEntry(
        ref=ref[:50],
        kind=kind,
        primary_name=primary[:500],
        names=names,
        birth_years=years,
        birth_dates=shown,
        nationalities=nationalities,
        programs=programs,
        extra={
            "logical_id": _attr(element, "logicalId"),
            "un_reference": _attr(element, "unitedNationId"),
            "designated_on": _attr(element, "designationDate"),
            "functions": sorted({f for f in functions if f}),
        },
    )


def parse_eu(source: str | BinaryIO) -> ParsedList:
    """Open the list (a path or a binary file) and return its version and a stream of entries.

    Raises ListFormatError for a file that is not the EU list, is malformed, or declares a
    DOCTYPE."""
    events, root = open_list(source, root_name=ROOT, list_name="EU Financial Sanctions File")
    version = _attr(root, "generationDate")
    if not version:
        raise ListFormatError(f"<{ROOT}> has no generationDate attribute (the list's version).")
    namespace = etree.QName(root).namespace

    def child(tag: str) -> str:
        return f"{{{namespace}}}{tag}" if namespace else tag

    return ParsedList(source="eu", version=version[:100], entries=_entries(events, root, child))


def _entries(events, root, child) -> Iterator[ListEntry]:
    tag = child("sanctionEntity")
    try:
        for event, element in events:
            if event != "end" or element.tag != tag or element.getparent() is not root:
                continue
            entry = _entry(element, child)
            free(element)
            if entry is not None:
                yield entry
    except etree.XMLSyntaxError as exc:
        raise ListFormatError(f"Not well-formed XML: {exc}") from exc
