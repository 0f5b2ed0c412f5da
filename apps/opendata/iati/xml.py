"""Small helpers to write IATI elements with lxml, and a buffer to stream what ``xmlfile``
writes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from lxml import etree


def sub(parent, tag: str, **attrs) -> etree._Element:
    """A child element; attribute names use ``_`` for ``-`` (``iso_date`` → ``iso-date``)."""
    return etree.SubElement(
        parent, tag, {k.replace("_", "-"): v for k, v in attrs.items() if v not in (None, "")}
    )


def narrative(parent, tag: str, text: str, **attrs) -> etree._Element:
    element = sub(parent, tag, **attrs)
    etree.SubElement(element, "narrative").text = text
    return element


def amount(value: Decimal) -> str:
    return f"{value:f}"


def iso(value: date | datetime) -> str:
    if isinstance(value, datetime):
        value = value.date()
    return value.isoformat()


class Buffer:
    """A file-like object ``xmlfile`` writes to; ``take`` hands over what it holds so far."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data
