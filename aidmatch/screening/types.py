"""What the parsers produce and the matcher reads: list entries with every name they carry."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field


class ListFormatError(ValueError):
    """The file is not a list in the expected format (or is hostile); nothing was loaded."""


@dataclass(frozen=True)
class ListedName:
    """One name of a listed person or entity.

    ``quality`` is ``strong`` for the primary name, original-script names and good aliases, and
    ``weak`` for the list's own low-quality aliases (UN "Low", OFAC's quoted weak a.k.a.s).
    """

    name: str
    kind: str = "primary"  # primary | alias | original_script
    quality: str = "strong"  # strong | weak


@dataclass
class ListEntry:
    ref: str  # UN reference number (TAi.144) or OFAC ent_num
    kind: str  # individual | entity | vessel | aircraft
    primary_name: str
    names: list[ListedName] = field(default_factory=list)
    birth_years: list[tuple[int, int]] = field(default_factory=list)  # inclusive ranges
    birth_dates: list[str] = field(default_factory=list)  # as published
    nationalities: list[str] = field(default_factory=list)
    programs: list[str] = field(default_factory=list)  # UN list type or OFAC programs
    extra: dict = field(default_factory=dict)

    def as_data(self) -> dict:
        """A JSON-ready dict (SanctionsEntry.data)."""
        return {
            "names": [[n.name, n.kind, n.quality] for n in self.names],
            "birth_years": [list(r) for r in self.birth_years],
            "birth_dates": self.birth_dates,
            "nationalities": self.nationalities,
            "programs": self.programs,
            "extra": self.extra,
        }

    @classmethod
    def from_data(cls, *, ref: str, kind: str, primary_name: str, data: dict) -> ListEntry:
        return cls(
            ref=ref,
            kind=kind,
            primary_name=primary_name,
            names=[ListedName(*n) for n in data.get("names", [])],
            birth_years=[tuple(r) for r in data.get("birth_years", [])],
            birth_dates=list(data.get("birth_dates", [])),
            nationalities=list(data.get("nationalities", [])),
            programs=list(data.get("programs", [])),
            extra=dict(data.get("extra", {})),
        )


@dataclass
class ParsedList:
    """A list being read: its version is known up front, its entries stream."""

    source: str  # un | ofac
    version: str
    entries: Iterator[ListEntry]
