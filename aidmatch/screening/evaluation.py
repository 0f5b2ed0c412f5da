"""Measuring screening: the true-positive rate on spelling variants of listed names and the
false-positive rate on names that are not listed (bench/screening.py, and a test)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aidmatch.screening.matcher import NameIndex, Subject


@dataclass
class Evaluation:
    threshold: float
    variants: int
    caught: int
    unlisted: int
    flagged: int
    missed: list[str] = field(default_factory=list)
    false_hits: list[tuple[str, str, float]] = field(default_factory=list)

    @property
    def tp_rate(self) -> float:
        return self.caught / self.variants if self.variants else 1.0

    @property
    def fp_rate(self) -> float:
        return self.flagged / self.unlisted if self.unlisted else 0.0


def read_lines(path) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip() and not line.startswith("#")]


def read_variants(path) -> list[tuple[str, set[str]]]:
    out = []
    for line in read_lines(path):
        name, refs = line.split("\t")
        out.append((name, set(refs.split())))
    return out


def evaluate(
    index: NameIndex, variants: list[tuple[str, set[str]]], unlisted: list[str], threshold: float
) -> Evaluation:
    """A variant is caught when a hit names one of its entries; an unlisted name is a false
    positive when it hits anything. Names are screened as principals (people)."""
    result = Evaluation(threshold, len(variants), 0, len(unlisted), 0)
    for name, refs in variants:
        hits = index.screen(Subject("principal", name), threshold=threshold)
        if any(h.entry.ref in refs for h in hits):
            result.caught += 1
        else:
            result.missed.append(name)
    for name in unlisted:
        hits = index.screen(Subject("principal", name), threshold=threshold)
        if hits:
            result.flagged += 1
            result.false_hits.append((name, hits[0].matched_name, hits[0].score))
    return result
