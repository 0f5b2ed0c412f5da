"""Name normalization that survives transliteration (scoring: aidmatch/screening/alignment.py).

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

Joined given names are split where both halves are common given names of the shipped table
(Mohammadhassan → Mohammad Hassan; Abdulbasir → Abdul Basir). An organization's name loses its
generic words (network, group, foundation, شبکه, گروه, بنیاد, موسسه, ډله, شبكة, جماعة, …) in
English, Dari, Pashto and Arabic. Scoring is aidmatch/screening/alignment.py.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from anyascii import anyascii

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
# Generic words of organizations' names, in Latin letters (English and transliterated).
ORG_STOPWORDS = _words(
    """
    the of for and in ngo organization organisation org association society foundation
    institute institution co company ltd llc inc network group groups
    shabaka shabakah shabakat jamaat jamaah jamaa muassasa muassasah moassesa bonyad bunyad
    tanzim gorooh goroh guruh dala
    """
)
# The same in Arabic script (Dari, Pashto, Arabic), folded as names are (ة→ه, ك→ک, ي→ی, ؤ→و).
ARABIC_ORG_WORDS = _words(
    """
    شبکه شبکهی شبکات گروه گروپ گروهی بنیاد موسسه موسسات مسسه سازمان انجمن اتحادیه شرکت
    جمعیت تنظیم ډله ډلی ټولنه بنسټ جماعه جماعت منظمه مجموعه هییه هیئه د
    """
)
# Given-name elements that come before the personal name (Mohammad Hassan, Abdul Ghani).
NAME_PREFIXES = frozenset({"abdul", "muhamad", "ghulam", "sayed", "mir"})
COMMON_NAMES_FILE = Path(__file__).with_name("common_names.txt")
NAME_CLASSES = {"very": 0.1, "common": 0.3, "title": 0.1}


@lru_cache(maxsize=1)
def common_parts() -> dict[str, float]:
    """The shipped table of common given names and titles (common_names.txt): folded part ->
    weight (0.1 for the commonest, 0.3 for common given names)."""
    out: dict[str, float] = {}
    weight = 1.0
    for line in COMMON_NAMES_FILE.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("["):
            weight = NAME_CLASSES[line.strip("[]")]
        elif line:
            for word in line.split():
                for part in _split_abd(_fold(word)):
                    part = _canonical(part)
                    out[part] = min(weight, out.get(part, 1.0))
    return out


@lru_cache(maxsize=1)
def _given_spellings() -> frozenset[str]:
    """The table's given names as written (several spellings each), to split joined ones."""
    out: set[str] = set()
    section = ""
    for line in COMMON_NAMES_FILE.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif line and section != "title":
            out.update(w for w in line.split() if len(w) >= 3)
    return frozenset(out)


def _split_joined(token: str) -> list[str]:
    """A joined pair of given names (mohammadhassan) as two parts; any other token as is."""
    if len(token) < 8:
        return [token]
    given = _given_spellings()
    if token in given:
        return [token]
    for i in range(3, len(token) - 2):
        if token[:i] in given and token[i:] in given:
            return [token[:i], token[i:]]
    return [token]


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
    personal: str = ""  # the personal given name (a listed name's relatives differ in it)

    @property
    def size(self) -> int:
        return len(self.tokens)


def _skeleton(token: str) -> str:
    s = re.sub(r"[aeiuwy]", "", token)
    s = re.sub(r"(.)\1+", r"\1", s)
    return s[:-1] if len(s) > 2 and s.endswith("h") else s


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
        if organization:
            words = [w for w in words if w.removeprefix("ال") not in ARABIC_ORG_WORDS] or words
        text = " ".join(words)
    raw = _ascii_tokens(text)
    if organization:
        raw = _drop(raw, ORG_STOPWORDS)
    raw = [part for t in raw for part in _split_joined(t)]
    folded = [_fold(t) for t in raw]
    # "al hajj" is an honorific in two words: drop the article with it.
    folded = [t for t in folded if t]
    folded = _drop_honorifics(folded)
    tokens: list[str] = []
    for t in folded:
        tokens.extend(_split_abd(t))
    tokens = [_canonical(t) for t in _compounds(tokens)]
    tokens = [t for t in tokens if t]
    skeleton = tuple(_skeleton(t) or t for t in tokens)
    return NameForm(
        original_script=script,
        tokens=tuple(tokens),
        text=" ".join(tokens),
        skeleton=skeleton,
        skeleton_text=" ".join(skeleton),
        skeleton_joined="".join(skeleton),
        personal=_personal(name, tokens, organization),
    )


def _personal(name: str, tokens: list[str], organization: bool) -> str:
    """The personal given name: the first given-name part after the common prefixes (Mohammad
    Hassan → hassan); in "SURNAME, Given" the first part after the comma."""
    if organization or len(tokens) < 2:
        return ""
    given = tokens
    if "," in name:
        given = list(normalize(name.split(",", 1)[1]).tokens) or tokens
    for t in given:
        if t not in NAME_PREFIXES and len(t) > 1:
            return t
    return ""


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


def score(a: NameForm, b: NameForm) -> tuple[float, str]:
    """How alike two normalized names are (0-100), and why, with the shipped table's weights
    only (the matcher uses the loaded lists' frequencies too)."""
    from aidmatch.screening.alignment import align

    result = align(a, b)
    return result.score, "; ".join(result.reasons)
