"""Small helpers to write IATI elements as text (lxml parses each activity, in C), and a
buffer to stream what ``xmlfile`` writes."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from xml.sax.saxutils import escape as _escape

from django.utils import timezone
from lxml import etree

from apps.opendata.iati import codes

_QUOTE = {'"': "&quot;"}
# Characters XML 1.0 does not allow (control characters but tab, newline and return).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def escape(text: str) -> str:
    return _escape(_NOT_XML.sub("", text), _QUOTE)


def attributes(**attrs) -> str:
    """`` name="value"`` for each non-empty attribute (``iso_date`` → ``iso-date``)."""
    return "".join(
        f' {name.replace("_", "-")}="{escape(str(value))}"'
        for name, value in attrs.items()
        if value not in (None, "")
    )


def empty(tag: str, **attrs) -> str:
    return f"<{tag}{attributes(**attrs)}/>"


def narrative(tag: str, text: str, **attrs) -> str:
    """An element holding one narrative, as text."""
    return f"<{tag}{attributes(**attrs)}><narrative>{escape(text)}</narrative></{tag}>"


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


@contextmanager
def iati_document(buffer: Buffer, root: str) -> Iterator:
    """An IATI document streamed into ``buffer``: the declaration, then ``root`` with the
    standard's version and the time of writing; yields the ``xmlfile`` writer inside it."""
    with etree.xmlfile(buffer, encoding="utf-8") as xf:
        xf.write_declaration()
        attrs = {
            "version": codes.VERSION,
            "generated-datetime": timezone.now().isoformat(timespec="seconds"),
        }
        with xf.element(root, attrs):
            yield xf


def write_chunks(chunks: Iterable[bytes], out) -> None:
    for chunk in chunks:
        if chunk:
            out.write(chunk)
