"""Name-part alignment: each part of a screened name paired with a part of a listed name, and
the pairs weighed by how distinctive the listed part is (aidmatch/screening/weights.py).

Parts pair up when they are spelled alike (rapidfuzz ``ratio`` over letters and over consonants;
across scripts over consonants only), when one is an initial of the other ("S." of Sirajuddin,
credited ``INITIAL`` of a full match), when one is a short form of a compound (Siraj of
Sirajuddin), when one part is two joined parts of the other name (Mohammadhassan = Mohammad
Hassan), or when the part is one of the entry's own one-word aliases (Khalifa). Compounds with
the same tail compare by their stems: Sirajuddin and Nasiruddin are not alike.

The score (0-100) is the weighted mean of the pairs' likeness, less:
- ``EXTRA_PART`` × weight for each part of the screened name that pairs with nothing (another
  surname, another given name: "Abdul Basir Karimi" is not "Abdul Qadir Basir");
- ``MISSING_GIVEN`` × weight when the listed personal given name (after Mohammad/Abdul…) is
  neither given nor initialled: a relative with the same surname (Jalaluddin for Sirajuddin
  Haqqani, Mohammad Abbas for Mohammad Hassan Akhund) does not rank as a hit;
- ``MISSING_PART`` × weight for each other listed part not given (a father's name).
A name whose only full pairs are common parts (weight under ``DISTINCTIVE``) scores at most
``COMMON_ONLY``: "Abdul Basir" alone never hits. One-word names match only the same word.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz

from aidmatch.screening.names import NameForm
from aidmatch.screening.weights import DISTINCTIVE, INITIAL_WEIGHT, TABLE_ONLY, PartWeights

MATCH_MIN = 0.8  # two parts pair up at this likeness or more
INITIAL = 0.85
SHORT_FORM = 0.92
JOINED_MIN = 0.88
ONE_WORD_MIN = 0.9
EXTRA_PART = 40.0
MISSING_GIVEN = 30.0
MISSING_PART = 3.0
GIVEN_CONFLICT = 20.0
ENTITY_INITIAL = 0.5
COMMON_ONLY = 60.0
COMBINED = 0.6  # three common parts together weigh at least this to count as evidence
CROSS_SCRIPT_PENALTY = 3.0
TAILS = ("uldin", "ulrahman", "ulhak", "ula")
DIGRAPHS = frozenset({"kh", "sh", "gh", "ch", "zh"})  # initials written with two letters: Kh.
SKELETON_TAILS = ("ldn", "lrhmn", "lhk")


@dataclass
class Pair:
    subject: tuple[int, ...]
    listed: tuple[int, ...]
    likeness: float
    kind: str  # same | spelling | initial | short form | joined | alias
    weight: float = 0.0


@dataclass
class Alignment:
    score: float
    pairs: list[Pair] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def split_tail(token: str, tails) -> tuple[str, str]:
    for tail in tails:
        if token.endswith(tail) and len(token) > len(tail):
            return token[: -len(tail)], tail
    return token, ""


def _likeness(a: str, b: str, sa: str, sb: str, cross: bool) -> tuple[float, str]:
    """Two full parts: (likeness 0-1, kind). ``cross``: compared by consonants only (a name
    in Arabic script on either side)."""
    if a == b:
        return 1.0, "same"
    if _nisba(a, b) or (cross and (_nisba_across(a, b) or _nisba_across(b, a))):
        return 0.0, ""
    if cross and sa == sb and len(sa) > 1:
        return 1.0, "same"
    if cross:
        (stem_a, tail_a), (stem_b, tail_b) = (
            split_tail(sa, SKELETON_TAILS),
            split_tail(sb, SKELETON_TAILS),
        )
        if tail_a and tail_a == tail_b:
            return fuzz.ratio(stem_a, stem_b) / 100, "spelling"
        if _short_form(stem_a, tail_a, sb, tail_b, 2) or _short_form(stem_b, tail_b, sa, tail_a, 2):
            return SHORT_FORM, "short form"
        return fuzz.ratio(sa, sb) / 100, "spelling"
    (stem_a, tail_a), (stem_b, tail_b) = split_tail(a, TAILS), split_tail(b, TAILS)
    if tail_a and tail_a == tail_b:
        a, b, sa, sb = stem_a, stem_b, _consonants(stem_a), _consonants(stem_b)
    elif _short_form(stem_a, tail_a, b, tail_b, 3) or _short_form(stem_b, tail_b, a, tail_a, 3):
        return SHORT_FORM, "short form"
    letters = fuzz.ratio(a, b) / 100
    skeleton = fuzz.ratio(sa, sb) / 100 if sa and sb else 0.0
    return max(letters, (letters + skeleton) / 2), "spelling"


def _short_form(stem: str, tail: str, other: str, other_tail: str, least: int) -> bool:
    """Siraj for Sirajuddin: the other part is the stem of this compound."""
    return bool(tail) and not other_tail and len(stem) >= least and stem == other


def _nisba(a: str, b: str) -> bool:
    """A family name formed from a given name (Mohammadi, Karimi) is not that given name."""
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return len(short) >= 4 and long[-1] in "iy" and long[:-1] == short


def _nisba_across(latin: str, arabic: str) -> bool:
    """The same across scripts: a final -i is always written ی (y) in Arabic script. (A final
    ی read as a, Yahya, Musa, is not a nisba.)"""
    if any(c in "aeiou" for c in latin[:-1]) is False or any(c in "aeiou" for c in arabic):
        return False  # ``latin`` must be the Latin part, ``arabic`` the transliterated one
    if latin.endswith("i") and len(latin) >= 4:
        return not arabic.endswith("y")
    return arabic.endswith("y") and latin[-1] not in "aeiouy"


def _consonants(token: str) -> str:
    return "".join(c for c in token if c not in "aeiuwy")


def _is_initial(token: str) -> bool:
    return len(token) == 1 or token in DIGRAPHS


@lru_cache(maxsize=1 << 18)
def _part_pair(a: str, b: str, sa: str, sb: str, cross: bool) -> tuple[float, str]:
    if _is_initial(a) or _is_initial(b):
        short, long = (a, b) if len(a) <= len(b) else (b, a)
        if len(long) > len(short) and long.startswith(short) and not cross:
            return INITIAL, "initial"
        return 0.0, ""
    return _likeness(a, b, sa, sb, cross)


def align(
    subject: NameForm,
    listed: NameForm,
    weights: PartWeights = TABLE_ONLY,
    *,
    aliases: frozenset[str] = frozenset(),
    people: bool = True,
) -> Alignment:
    """Align a screened name with a listed one and score it (see the module's docstring).
    ``aliases`` are the listed entry's one-word aliases; ``people``: a listed person (an
    entity's name has no initials: a left-over one counts in full)."""
    s_tok, l_tok = subject.tokens, listed.tokens
    if not s_tok or not l_tok or len(subject.skeleton) != len(s_tok):
        return Alignment(0.0)
    if len(listed.skeleton) != len(l_tok):
        return Alignment(0.0)
    cross = subject.original_script != listed.original_script
    s_ar, l_ar = subject.original_script == "arabic", listed.original_script == "arabic"
    consonants = cross or s_ar  # two names in Arabic script: their letters are consonants too
    s_sk, l_sk = subject.skeleton, listed.skeleton
    w_s = [weights.weight(t, k, arabic=s_ar) for t, k in zip(s_tok, s_sk, strict=True)]
    w_l = [weights.weight(t, k, arabic=l_ar) for t, k in zip(l_tok, l_sk, strict=True)]
    if len(s_tok) == 1 or len(l_tok) == 1:
        return _one_word(subject, listed, w_l, consonants, cross)

    found = []
    for i, a in enumerate(s_tok):
        for j, b in enumerate(l_tok):
            likeness, kind = _part_pair(a, b, s_sk[i], l_sk[j], consonants)
            if likeness >= MATCH_MIN:
                found.append((likeness, w_l[j], i, j, kind))
    found.sort(key=lambda f: (-f[0], -f[1]))
    pairs: list[Pair] = []
    free_s, free_l = set(range(len(s_tok))), set(range(len(l_tok)))
    for likeness, weight, i, j, kind in found:
        if i in free_s and j in free_l:
            free_s.discard(i)
            free_l.discard(j)
            pairs.append(Pair((i,), (j,), likeness, kind, weight))
    pairs += _joined(subject, listed, free_s, free_l, w_s, w_l, consonants)
    for i in sorted(free_s):
        if s_tok[i] in aliases or s_sk[i] in aliases:
            free_s.discard(i)
            pairs.append(Pair((i,), (), 1.0, "alias", w_s[i]))
    initial = INITIAL_WEIGHT if people else ENTITY_INITIAL
    w_s = [initial if _is_initial(t) else w for t, w in zip(s_tok, w_s, strict=True)]
    return _scored(subject, listed, pairs, free_s, free_l, w_s, w_l, cross)


def _one_word(subject: NameForm, listed: NameForm, w_l, consonants: bool, cross: bool):
    """A one-word name matches only another one-word name spelled alike, and a distinctive one."""
    if subject.size != listed.size:
        return Alignment(0.0)
    likeness, kind = _likeness(
        subject.tokens[0], listed.tokens[0], subject.skeleton[0], listed.skeleton[0], consonants
    )
    if likeness < ONE_WORD_MIN:
        return Alignment(0.0)
    pairs = [Pair((0,), (0,), likeness, kind, w_l[0])]
    if w_l[0] < DISTINCTIVE:
        return Alignment(COMMON_ONLY, pairs, ["a single name, a common one"])
    value = 100.0 * likeness - (CROSS_SCRIPT_PENALTY if cross else 0.0)
    return Alignment(value, pairs, [_described(subject, listed, pairs)])


def _joined(subject, listed, free_s, free_l, w_s, w_l, cross) -> list[Pair]:
    """A part of one name that is two parts of the other, joined (in either order). The pair
    weighs what the lighter side does: Abdul + Haq joined is no rarer than Abdul Haq."""
    pairs: list[Pair] = []
    for one, two, swap in ((subject, listed, False), (listed, subject, True)):
        free_one, free_two = (free_l, free_s) if swap else (free_s, free_l)
        parts_one = one.skeleton if cross else one.tokens
        parts_two = two.skeleton if cross else two.tokens
        for i in sorted(free_one):
            if len(parts_one[i]) < 5:
                continue
            best = None
            for j in free_two:
                for k in free_two:
                    if j == k:
                        continue
                    likeness = fuzz.ratio(parts_one[i], parts_two[j] + parts_two[k]) / 100
                    if likeness >= JOINED_MIN and (best is None or likeness > best[0]):
                        best = (likeness, j, k)
            if best is None:
                continue
            likeness, j, k = best
            free_one.discard(i)
            free_two.discard(j)
            free_two.discard(k)
            if swap:
                weight = min(w_l[i], max(w_s[j], w_s[k]))
                pairs.append(Pair((j, k), (i,), likeness, "joined", weight))
            else:
                weight = min(w_s[i], max(w_l[j], w_l[k]))
                pairs.append(Pair((i,), (j, k), likeness, "joined", weight))
    return pairs


def _scored(subject, listed, pairs, free_s, free_l, w_s, w_l, cross) -> Alignment:
    if not pairs:
        return Alignment(0.0)
    total = sum(p.weight for p in pairs) or 1.0
    value = 100.0 * sum(p.weight * p.likeness for p in pairs) / total
    reasons = [_described(subject, listed, pairs)]
    extra = [i for i in sorted(free_s)]
    if extra:
        value -= EXTRA_PART * sum(w_s[i] for i in extra)
        reasons.append(f"{len(extra)} part(s) of the screened name not in the listed name")
    missing = [listed.tokens[j] for j in sorted(free_l)]
    own_given = any(not _is_initial(subject.tokens[i]) for i in extra)
    for j in sorted(free_l):
        if listed.tokens[j] == listed.personal:
            # Not given at all; or another given name in its place (a relative, a namesake).
            value -= max(MISSING_GIVEN * w_l[j], GIVEN_CONFLICT if own_given else 0.0)
            reasons.append(
                f"the listed given name {listed.tokens[j]!r} is "
                + ("not the one given" if own_given else "not given")
            )
        else:
            value -= MISSING_PART * w_l[j]
    others = [t for t in missing if t != listed.personal]
    if others:
        reasons.append(f"listed parts not given: {', '.join(others)}")
    full = [p for p in pairs if p.kind not in ("initial", "alias")]
    evidence = any(p.weight >= DISTINCTIVE for p in full) or (
        # three or more parts, each common on its own, all found in the listed name
        not extra and len(full) == len(pairs) >= 3 and sum(p.weight for p in pairs) >= COMBINED
    )
    if not evidence and value > COMMON_ONLY:
        value = COMMON_ONLY
        reasons.append("only common name parts agree")
    if cross:
        value -= CROSS_SCRIPT_PENALTY
        reasons.append("compared across scripts by consonants")
    return Alignment(round(max(0.0, value), 2), pairs, reasons)


def _described(subject: NameForm, listed: NameForm, pairs: list[Pair]) -> str:
    words = []
    for p in sorted(pairs, key=lambda p: p.listed or (99,)):
        if p.kind == "alias":
            words.append(f"{subject.tokens[p.subject[0]]} (a one-word alias of the entry)")
            continue
        name = " ".join(listed.tokens[j] for j in p.listed)
        how = {
            "same": "same",
            "spelling": f"spelling {p.likeness * 100:.0f}",
            "initial": "initial",
            "short form": "short form",
            "joined": "written joined or split",
        }[p.kind]
        words.append(f"{name} ({how})")
    return "matched parts: " + ", ".join(words)
