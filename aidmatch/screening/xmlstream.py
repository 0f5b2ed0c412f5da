"""Opening a published list's XML safely, as a stream (shared by the UN and EU parsers).

lxml ``iterparse`` with entity resolution, DTD loading and network access off; a file that
declares a DOCTYPE (the carrier of "billion laughs" and external-entity attacks; no published
list has one) is refused before any entry is read.
"""

from __future__ import annotations

from typing import BinaryIO

from lxml import etree

from aidmatch.screening.types import ListFormatError


def open_list(source: str | BinaryIO, *, root_name: str, list_name: str):
    """(events, root): the iterparse stream positioned after the root's start, and the root.

    Raises ListFormatError for a file that is empty, not well-formed at its start, declares a
    DOCTYPE, or whose root element is not ``root_name`` (compared without namespace)."""
    events = etree.iterparse(
        source,
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        _, root = next(events)
    except etree.XMLSyntaxError as exc:
        raise ListFormatError(f"Not well-formed XML: {exc}") from exc
    except StopIteration as exc:
        raise ListFormatError("The file is empty.") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.system_url:
        raise ListFormatError(
            "Refused: the XML declares a DOCTYPE (entities or external references). "
            f"The {list_name} has none."
        )
    if etree.QName(root).localname != root_name:
        raise ListFormatError(f"Expected a <{root_name}> document, found <{root.tag}>.")
    return events, root


def free(element) -> None:
    """Release an entry once read (and the siblings before it), to keep memory flat."""
    element.clear()
    parent = element.getparent()
    if parent is None:
        return
    while element.getprevious() is not None:
        del parent[0]
