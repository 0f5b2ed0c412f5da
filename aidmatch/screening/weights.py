"""How much a name part says: a frequency model of name parts.

A part's weight (0.1-1.0) is the lower of two figures:
- the shipped table of common Afghan and Arabic given names and titles (``common_names.txt``):
  0.1 for the very commonest (Mohammad, Abdul, Ahmad, Gul) and titles (Khalifa), 0.3 for common
  given names (Basir, Hassan, Karim);
- how many entries of the loaded lists carry the part: 1.0 up to ``RARE_ENTRIES`` entries, then
  less by ``DECAY`` per doubling, never under ``FLOOR`` (a surname carried by hundreds of entries).

Parts transliterated from Arabic script have no vowels to compare: they are looked up by their
consonant skeleton.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from aidmatch.screening.names import NameForm, _skeleton, common_parts

RARE_ENTRIES = 3
DECAY = 0.15
FLOOR = 0.3
# A part weighing this much or more is distinctive: a hit needs one such part matched in full.
DISTINCTIVE = 0.5
INITIAL_WEIGHT = 0.15  # an initial of the screened name that found no partner


@lru_cache(maxsize=1)
def _table_skeletons() -> dict[str, float]:
    out: dict[str, float] = {}
    for token, weight in common_parts().items():
        skeleton = _skeleton(token)
        out[skeleton] = min(weight, out.get(skeleton, 1.0))
    return out


def _from_count(count: int) -> float:
    if count <= RARE_ENTRIES:
        return 1.0
    return max(FLOOR, 1.0 - DECAY * math.log2(count / RARE_ENTRIES))


class PartWeights:
    """Weights of name parts for one set of loaded lists (build once per list version)."""

    def __init__(self, entry_forms: Iterable[Iterable[NameForm]] = ()) -> None:
        tokens: Counter[str] = Counter()
        skeletons: Counter[str] = Counter()
        for forms in entry_forms:  # each entry counts once, however many names it has
            seen_t: set[str] = set()
            seen_s: set[str] = set()
            for form in forms:
                seen_t.update(form.tokens)
                seen_s.update(form.skeleton)
            tokens.update(seen_t)
            skeletons.update(seen_s)
        self._tokens = tokens
        self._skeletons = skeletons
        self._cache: dict[tuple[str, str], float] = {}

    def weight(self, token: str, skeleton: str, *, arabic: bool = False) -> float:
        """A part's weight; a part transliterated from Arabic script (``arabic``) is looked up
        by its consonants."""
        key = ("" if arabic else token, skeleton)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if arabic:
            value = _from_count(self._skeletons[skeleton])
            known = _table_skeletons().get(skeleton)
        else:
            value = _from_count(self._tokens[token])
            known = common_parts().get(token)
        if known is not None:
            value = min(value, known)
        self._cache[key] = value
        return value


TABLE_ONLY = PartWeights()
