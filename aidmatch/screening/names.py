"""Name normalization and fuzzy scoring that survive transliteration.

A name becomes a ``NameForm``: folded Latin tokens (for names written in Latin letters) and a
consonant skeleton (to compare a name written in Arabic script with one written in Latin).

Normalizing, in order: Unicode NFKC and casefold; Arabic-script letters folded (ي/ی, ك/ک, ة/ه,
hamza forms, diacritics) and transliterated to ASCII with ``anyascii``; punctuation removed;
honorifics dropped (Mawlawi, Mullah, Hajji, Al Hajj, Qari, Sheikh, Mufti, Amir, Engineer, …);
letters folded (q→k, v→w, ph→f, dh→z, th→s, ou/oo→u, ee→i, o→u, doubled letters once, a final
vowel+h loses its h); compounds made one token with one spelling of their particle
(Sirajuddin, Siraj al-Din, Siraj ud Din → ``sirajuldin``; Hekmatullah, Hikmat Ullah →
``hikmatula``; Abdul Ghani, Abd al-Ghani, Abdulghani → ``abdul ghani``); the commonest given
names folded to one spelling (Mohammed/Muhammad, Ahmed/Ahmad, …).

Scoring (rapidfuzz, 0-100), so that the order of name parts does not matter:
- same script: ``token_sort_ratio``; when one name has fewer parts and all of its parts occur in
  the other (``token_set_ratio``), that score less ``SUBSET_PENALTY`` per missing part, and only
  when a shared part is distinctive (not one of the commonest given names: "Abdul Ghani" alone
  is not a match for "Abdul Ghani Baradar", "Siraj Haqqani" is one for "Siraj … Haqqani");
- across scripts: the better of ``ratio`` over the joined skeletons and ``token_sort_ratio``
  over the skeleton tokens, less ``CROSS_SCRIPT_PENALTY``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from anyascii import anyascii
from rapidfuzz import fuzz

# A part of the longer name that the shorter one lacks costs this much (a common given name less).
SUBSET_PENALTY = 6.0
COMMON_MISSING_PENALTY = 2.0
# Each part of the shorter name must score at least this against its partner.
ALIGN_MIN = 80.0
CROSS_SCRIPT_PENALTY = 3.0

_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_ARABIC_DIACRITICS = re.compile(r"[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_ARABIC_FOLD = str.maketrans(
    {
        "ي": "ی",
        "ى": "ی",
        "ئ": "ی",
        "ك": "ک",
        "ة": "ه",
        "ۀ": "ه",
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ؤ": "و",
        "ء": "",
        "\u200c": "",  # zero-width non-joiner: ذبیح‌الله
        "\u200d": "",
    }
)
# Arabic-script compound tails written apart ("سراج الدین") join the word before them.
_ARABIC_TAILS = re.compile(r"\s+(ال(?:دین|دين|له|رحمن|رحمان|حق))(?=\s|$)")
_ARABIC_ABD = re.compile(r"(?:^|(?<=\s))عبد\s+")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


ARABIC_HONORIFICS = _words(
    "ملا مولوی مولوي مولانا حاجی الحاج حاج قاری شیخ مفتی امیر انجنیر حافظ داکتر دکتر"
)


def _fold(token: str) -> str:
    t = token.replace("ph", "f").replace("q", "k").replace("ck", "k").replace("v", "w")
    t = t.replace("dh", "z").replace("th", "s")
    t = t.replace("ou", "u").replace("oo", "u").replace("ee", "i").replace("o", "u")
    t = re.sub(r"(.)\1+", r"\1", t)
    t = re.sub(r"(?<=.[aeiu])h$", "", t)
    return t


def _folded(words: str) -> frozenset[str]:
    return frozenset(_fold(w) for w in words.split())


# Titles and honorifics that are not part of a name (compared in folded form).
HONORIFICS = _folded(
    """
    mawlawi maulawi mawlavi maulavi maulvi molvi mowlawi moulvi mawlana maulana molana
    mullah mulla mollah molla hajji haji hajj haj alhaj alhajj alhaji
    qari qary sheikh shaikh shaykh sheik shekh mufti amir emir
    engineer eng engr dr doctor daktar mr mrs ms miss prof professor
    ustad ustaz ustadh hafiz hafez commander general gen colonel
    saheb sahib
    """
)
# The Arabic article and the particles of compound names and of descent.
PARTICLES = _folded("al el ul ud ad ed id ur ar as us uz az ush ash an un bin ibn bint wal")
# Second halves of compounds: X ud-Din, X ur-Rahman, X ul-Haq; and X ullah.
TAILS = {"din": "din", "rahman": "rahman", "hak": "hak"}
ULLAH = frozenset({"ula", "ala", "ila", "lah"})
_ABD_L = ("abdul", "abdal", "abdil")
_ABD_V = ("abdu", "abda", "abdi")
_SUFFIXES = (
    (re.compile(r"(?<=[a-z]{3})(?:[aeiu][ld]?)d(?:in|ine|yn)$"), "uldin"),
    (re.compile(r"(?<=[a-z]{3})(?:[aeiu][lr]?)rahman$"), "ulrahman"),
    (re.compile(r"(?<=[a-z]{3})[aeiu]l?hak$"), "ulhak"),
    (re.compile(r"(?<=[a-z]{3})[ua]la$"), "ula"),
)
# Spellings of the commonest given names, folded to one.
CANONICAL = {
    _fold(variant): _fold(canonical)
    for canonical, variants in {
        "muhammad": "mohammed muhammed mohamed mohd mhd mohamad mohammad mohmmad",
        "ahmad": "ahmed",
        "mahmud": "mehmood mehmud mahmood",
        "husain": "hussein husein hosain hossain hossein husayn",
        "yusuf": "yousef yusef yosef",
        "rahman": "rehman",
        "sayed": "syed sayid sayyid seyed sayyed",
        "akhund": "akhwand akhwund",
        "hikmat": "hekmat",
        "zia": "ziya",
        "fazal": "fazl fazel",
        "ghulam": "gulam",
    }.items()
    for variant in variants.split()
}
# Given-name parts so common among Afghans that sharing only them says nothing.
COMMON_TOKENS = _folded(
    """
    muhammad ahmad abdul gul khan jan ali hasan husain nur sayed ghulam mir shah agha zia fazal
    karim rahim rahman aziz habib hamid wali amin nabi omar usman yusuf qasim qadir ghani haq
    jalal bashir nazir nasir sharif latif hakim salam wahid majid rashid mahmud khalil ibrahim
    ismail ishaq yaqub musa isa daud sulaiman hafiz kabir jamil jamal samad sadiq sabir faiz
    baz dost din ullah
    """
)
ORG_STOPWORDS = _words(
    """
    the of for and in ngo organization organisation org association society foundation
    institute co company ltd llc inc
    """
)


def has_arabic_script(text: str) -> bool:
    return bool(_ARABIC.search(text))


def _split_abd(token: str) -> list[str]:
    if token in ("abdula", "abdala", "abdila"):
        return ["abdula"]  # Abdullah
    if token in ("abd", "abdul", "abdal", "abdil", "abdu", "abda", "abdi", "abdl"):
        return ["abdul"]
    for prefix in _ABD_L:
        if token.startswith(prefix) and len(token) > len(prefix) + 1:
            return ["abdul", token[len(prefix) :]]
    for prefix in _ABD_V:
        rest = token[len(prefix) :]
        if token.startswith(prefix) and len(rest) > 2 and rest[0] not in "aeiu":
            return ["abdul", rest]
    return [token]


def _canonical(token: str) -> str:
    token = CANONICAL.get(token, token)
    for pattern, replacement in _SUFFIXES:
        if pattern.search(token):
            return pattern.sub(replacement, token)
    return token


def _compounds(tokens: list[str]) -> list[str]:
    """Join particles and tails to the word before them; drop other particles."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if t in PARTICLES:
            if out and out[-1] != "abdul" and nxt is not None and _tail(nxt):
                out[-1] = out[-1] + "ul" + _tail(nxt)
                i += 2
                continue
            i += 1  # an article or a particle of descent: not part of the comparison
            continue
        if out and out[-1] != "abdul" and (_tail(t) or t in ULLAH) and len(out[-1]) > 2:
            out[-1] = out[-1] + ("ula" if t in ULLAH else "ul" + _tail(t))
            i += 1
            continue
        out.append(t)
        i += 1
    return out


def _tail(token: str) -> str:
    if token in TAILS:
        return TAILS[token]
    for stem in ("uldin", "udin", "aldin", "adin", "idin"):
        if token == stem:
            return "din"
    return ""


@dataclass(frozen=True)
class NameForm:
    """A normalized name: its tokens, their text, and its consonant skeleton."""

    original_script: str  # "latin" or "arabic"
    tokens: tuple[str, ...]
    text: str
    skeleton: tuple[str, ...]
    skeleton_text: str
    skeleton_joined: str

    @property
    def size(self) -> int:
        return len(self.tokens)


def _skeleton(token: str) -> str:
    s = re.sub(r"[aeiuwy]", "", token)
    s = re.sub(r"(.)\1+", r"\1", s)
    return s[:-1] if len(s) > 2 and s.endswith("h") else s


COMMON_SKELETONS = frozenset(_skeleton(t) for t in COMMON_TOKENS)


def _ascii_tokens(text: str) -> list[str]:
    text = anyascii(text).lower()
    text = re.sub(r"['`’ʼʻ]", "", text)
    return re.findall(r"[a-z0-9]+", text)


def _drop(tokens: list[str], words: frozenset[str]) -> list[str]:
    kept = [t for t in tokens if t not in words]
    return kept or tokens


@lru_cache(maxsize=65536)
def normalize(name: str, *, organization: bool = False) -> NameForm:
    """The comparable form of a person's or an organization's name."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    script = "latin"
    if has_arabic_script(text):
        script = "arabic"
        text = _ARABIC_DIACRITICS.sub("", text.translate(_ARABIC_FOLD))
        text = _ARABIC_ABD.sub("عبد", _ARABIC_TAILS.sub(r"\1", text))
        words = _drop(re.split(r"[\s\u060c.,;:()\-]+", text.strip()), ARABIC_HONORIFICS)
        text = " ".join(words)
    raw = _ascii_tokens(text)
    if organization:
        raw = _drop(raw, ORG_STOPWORDS)
    folded = [_fold(t) for t in raw]
    # "al hajj" is an honorific in two words: drop the article with it.
    folded = [t for t in folded if t]
    folded = _drop_honorifics(folded)
    tokens: list[str] = []
    for t in folded:
        tokens.extend(_split_abd(t))
    tokens = [_canonical(t) for t in _compounds(tokens)]
    tokens = [t for t in tokens if t]
    skeleton = tuple(s for s in (_skeleton(t) for t in tokens) if s)
    return NameForm(
        original_script=script,
        tokens=tuple(tokens),
        text=" ".join(tokens),
        skeleton=skeleton,
        skeleton_text=" ".join(skeleton),
        skeleton_joined="".join(skeleton),
    )


def _drop_honorifics(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for i, t in enumerate(tokens):
        if t in HONORIFICS:
            if out and out[-1] in ("al", "el"):
                out.pop()
            continue
        if t in ("al", "el") and i + 1 < len(tokens) and tokens[i + 1] in HONORIFICS:
            continue
        out.append(t)
    return out or tokens


def _is_common(token: str) -> bool:
    """One of the commonest given names, in Latin letters or as a consonant skeleton (a name
    transliterated from Arabic script has no vowels to compare)."""
    return token in COMMON_TOKENS or _skeleton(token) in COMMON_SKELETONS or len(token) <= 2


def distinctive(tokens) -> bool:
    return any(not _is_common(t) for t in tokens)


def _token_score(a: str, b: str, sa: str, sb: str, *, cross: bool) -> float:
    """Two name parts: spelling (letters), or half spelling and half consonants."""
    skeleton = fuzz.ratio(sa, sb) if sa and sb else 0.0
    if cross:
        return skeleton
    letters = fuzz.ratio(a, b)
    return max(letters, (letters + skeleton) / 2)


def _aligned(a: NameForm, b: NameForm, *, cross: bool) -> tuple[float, str]:
    """Every part of the shorter name found in the longer one (each part's best partner),
    less a penalty for each part of the longer name left over."""
    short, long = (a, b) if a.size <= b.size else (b, a)
    if short.size < 2 or short.size == long.size or len(short.skeleton) != short.size:
        return 0.0, ""
    if len(long.skeleton) != long.size:
        return 0.0, ""
    unused = list(range(long.size))
    total = weight = 0.0
    shared: list[str] = []  # the shorter name's parts that found a partner
    for i in sorted(range(short.size), key=lambda k: -len(short.tokens[k])):
        best, best_j = 0.0, -1
        for j in unused:
            s = _token_score(
                short.tokens[i], long.tokens[j], short.skeleton[i], long.skeleton[j], cross=cross
            )
            if s > best:
                best, best_j = s, j
        if best < ALIGN_MIN:
            return 0.0, ""
        unused.remove(best_j)
        shared.append(short.tokens[i])
        total += best * len(short.tokens[i])
        weight += len(short.tokens[i])
    if not distinctive(shared):
        return 0.0, ""
    penalty = sum(
        COMMON_MISSING_PENALTY if _is_common(long.tokens[j]) else SUBSET_PENALTY for j in unused
    )
    return total / weight - penalty, f"{short.size} of {long.size} name parts"


def same_script_score(a: NameForm, b: NameForm) -> tuple[float, str]:
    """(score, how) for two names in the same script, parts in any order."""
    if not a.tokens or not b.tokens:
        return 0.0, ""
    letters = fuzz.token_sort_ratio(a.text, b.text)
    skeleton = fuzz.token_sort_ratio(a.skeleton_text, b.skeleton_text)
    best, how = max(letters, (letters + skeleton) / 2), "name parts in any order"
    aligned, aligned_how = _aligned(a, b, cross=False)
    if aligned > best:
        best, how = aligned, aligned_how
    return float(best), how


def cross_script_score(a: NameForm, b: NameForm) -> tuple[float, str]:
    """(score, how) for a name in Arabic script against one in Latin letters."""
    if not a.skeleton or not b.skeleton:
        return 0.0, ""
    best = max(
        fuzz.ratio(a.skeleton_joined, b.skeleton_joined),
        fuzz.token_sort_ratio(a.skeleton_text, b.skeleton_text),
    )
    how = "consonants across scripts"
    aligned, aligned_how = _aligned(a, b, cross=True)
    if aligned > best:
        best, how = aligned, f"consonants across scripts, {aligned_how}"
    return float(best) - CROSS_SCRIPT_PENALTY, how


def score(a: NameForm, b: NameForm) -> tuple[float, str]:
    """How alike two normalized names are (0-100), and why."""
    if a.original_script == b.original_script:
        return same_script_score(a, b)
    return cross_script_score(a, b)
