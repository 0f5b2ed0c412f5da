"""The active lists as one NameIndex, built once per process per set of list versions."""

from __future__ import annotations

import threading

from aidmatch.screening.matcher import NameIndex
from aidmatch.screening.types import ListEntry
from apps.screening.models import SanctionsEntry, SanctionsList

_lock = threading.Lock()
_cached: tuple[tuple, NameIndex] | None = None


def _key() -> tuple:
    return tuple(
        SanctionsList.objects.filter(active=True)
        .order_by("source")
        .values_list("pk", "source", "version", "file_sha256")
    )


def _build() -> NameIndex:
    entries = []
    rows = SanctionsEntry.objects.filter(sanctions_list__active=True).values_list(
        "pk",
        "ref",
        "kind",
        "primary_name",
        "data",
        "sanctions_list__source",
        "sanctions_list__version",
    )
    for pk, ref, kind, primary_name, data, source, version in rows.iterator(chunk_size=2000):
        entry = ListEntry.from_data(ref=ref, kind=kind, primary_name=primary_name, data=data)
        entry.extra.update({"_pk": pk, "_source": source, "_version": version})
        entries.append(entry)
    return NameIndex(entries)


def active_index() -> NameIndex:
    """The index of every active list; rebuilt when a list is loaded (one query to check)."""
    global _cached
    key = _key()
    cached = _cached
    if cached is not None and cached[0] == key:
        return cached[1]
    with _lock:
        if _cached is not None and _cached[0] == key:
            return _cached[1]
        index = _build()
        _cached = (key, index)
        return index
