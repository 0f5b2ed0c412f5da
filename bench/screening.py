"""Sanctions screening: true- and false-positive rates, and the time to screen one organization.

    .venv/bin/python bench/screening.py [--threshold 88] [--bulk 20000] [--unlisted 1200]

Lists: the test samples (tests/apps/screening/data: UN XML, OFAC sdn.csv + alt.csv). Variants:
listed_variants.tsv (spelling, order, honorifics, punctuation, Arabic script). Unlisted:
unlisted_afghan_names.txt (240 realistic Afghan names, men and women, some in Arabic script).
Case sets: screening_cases.tsv (initials, joined names, entities in person fields, scripts,
common names alone, relatives), one table row per set at the threshold: recall, right entry
ranked first, false positives, time per name; and --unlisted generated unlisted Afghan names
(given names x family names on no list, seeded). Timing: the sample lists padded with synthetic
non-Afghan entries to --bulk entries in all.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aidmatch.screening.evaluation import (  # noqa: E402
    evaluate,
    evaluate_cases,
    read_cases,
    read_lines,
    read_variants,
    unlisted_names,
)
from aidmatch.screening.matcher import NameIndex, Subject  # noqa: E402
from aidmatch.screening.ofac import parse_ofac  # noqa: E402
from aidmatch.screening.types import ListedName, ListEntry  # noqa: E402
from aidmatch.screening.un import parse_un  # noqa: E402

DATA = ROOT / "tests" / "apps" / "screening" / "data"


def sample_entries() -> list[ListEntry]:
    entries = list(parse_un(str(DATA / "un_sample.xml")).entries)
    with open(DATA / "sdn.csv", "rb") as sdn, open(DATA / "alt.csv", "rb") as alt:
        entries += list(parse_ofac(sdn, alt, version="sample").entries)
    return entries


def synthetic_entries(count: int, seed: int = 7) -> list[ListEntry]:
    """Names in the shape of the rest of a real list (Russian, Spanish, Chinese, Korean…)."""
    rng = random.Random(seed)
    first = [
        "Ivan",
        "Pyotr",
        "Sergei",
        "Dmitri",
        "Alexei",
        "Nikolai",
        "Olga",
        "Irina",
        "Elena",
        "Tatiana",
        "Juan",
        "Carlos",
        "Jose",
        "Luis",
        "Maria",
        "Carmen",
        "Ana",
        "Jorge",
        "Wei",
        "Jun",
        "Li",
        "Ming",
        "Hong",
        "Xiao",
        "Jin",
        "Hyun",
        "Min",
        "Soo",
        "Kyung",
        "Chol",
        "Song",
    ]
    last = [
        "Volkov",
        "Ivanov",
        "Petrov",
        "Sokolov",
        "Kuznetsov",
        "Popov",
        "Lebedev",
        "Kozlov",
        "Novikov",
        "Morozov",
        "Garcia",
        "Rodriguez",
        "Martinez",
        "Hernandez",
        "Lopez",
        "Gonzalez",
        "Perez",
        "Sanchez",
        "Ramirez",
        "Torres",
        "Wang",
        "Zhang",
        "Liu",
        "Chen",
        "Yang",
        "Huang",
        "Zhao",
        "Kim",
        "Lee",
        "Park",
        "Choi",
        "Jung",
        "Kang",
        "Cho",
        "Yoon",
        "Jang",
        "Lim",
        "Han",
    ]
    syllables = [
        "ka",
        "ro",
        "mi",
        "sha",
        "ten",
        "vol",
        "dro",
        "zhi",
        "lan",
        "per",
        "gu",
        "bek",
        "tor",
        "na",
        "sel",
        "ri",
        "vo",
        "ham",
        "chen",
        "lo",
    ]
    syllables += [
        "dar",
        "kin",
        "mas",
        "ul",
        "te",
        "bro",
        "zen",
        "fa",
        "quo",
        "yan",
        "dis",
        "hel",
        "mor",
        "sun",
        "pa",
        "nik",
        "ost",
        "lev",
        "ira",
    ]
    out = []
    for i in range(count):
        # every other entry with a made-up surname: a real list's vocabulary is large
        surname = rng.choice(last)
        if i % 2:
            surname = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))).title()
        name = f"{surname} {rng.choice(first)} {rng.choice(first)}ovich{i % 97}"
        out.append(ListEntry(f"SYN{i}", "individual", name, [ListedName(name)]))
    return out


def _pct(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def print_case_sets(index: NameIndex, args) -> None:
    cases = read_cases(DATA / "screening_cases.tsv")
    generated = unlisted_names(index, args.unlisted)
    rows = evaluate_cases(index, cases, args.threshold)
    started = time.perf_counter()
    flagged = []
    for name in generated:
        hits = index.screen(Subject("principal", name), threshold=args.threshold)
        if hits:
            flagged.append(f"{name} ~ {hits[0].matched_name} ({hits[0].score})")
    seconds = time.perf_counter() - started
    print()
    print(f"case sets at threshold {args.threshold:g}")
    print("| set | names | recall | right entry first | false positives | ms per name |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r.name} | {r.cases} | {_pct(r.recall)} | {_pct(r.first_rank)}"
            f" | {r.flagged} ({r.fp_rate:.1%}) | {r.seconds / r.cases * 1000:.2f} |"
        )
    print(
        f"| unlisted (generated) | {len(generated)} | - | - |"
        f" {len(flagged)} ({len(flagged) / len(generated):.1%}) |"
        f" {seconds / len(generated) * 1000:.2f} |"
    )
    failures = [f for r in rows for f in r.failures] + [f"false positive: {f}" for f in flagged]
    for failure in failures if args.verbose else failures[:15]:
        print(f"  {failure}")
    if len(failures) > 15 and not args.verbose:
        print(f"  … {len(failures) - 15} more (--verbose)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = float(os.environ.get("SCREENING_HIT_THRESHOLD", 88))
    parser.add_argument("--threshold", type=float, default=default)
    parser.add_argument("--bulk", type=int, default=20000, help="list entries for the timing")
    parser.add_argument("--unlisted", type=int, default=1200, help="generated unlisted names")
    parser.add_argument("--verbose", action="store_true", help="every failed case")
    args = parser.parse_args()

    variants = read_variants(DATA / "listed_variants.tsv")
    unlisted = read_lines(DATA / "unlisted_afghan_names.txt")
    index = NameIndex(sample_entries())
    print(f"lists: {len(index.entries)} sample entries, {len(index)} names")
    print(f"variants of listed names: {len(variants)}; unlisted Afghan names: {len(unlisted)}")
    print()
    print("threshold   true positives   false positives")
    for t in sorted({80.0, 84.0, 86.0, 88.0, 90.0, 92.0, 95.0, args.threshold}):
        r = evaluate(index, variants, unlisted, t)
        mark = "  <- configured" if t == args.threshold else ""
        print(
            f"{t:9.1f}   {r.caught:3}/{r.variants} {r.tp_rate:6.1%}"
            f"   {r.flagged:3}/{r.unlisted} {r.fp_rate:6.1%}{mark}"
        )
    r = evaluate(index, variants, unlisted, args.threshold)
    for name in r.missed:
        print(f"  missed: {name}")
    for name, listed, score in r.false_hits:
        print(f"  false positive: {name!r} ~ {listed!r} ({score})")

    print_case_sets(index, args)

    entries = sample_entries()
    entries += synthetic_entries(max(0, args.bulk - len(entries)))
    started = time.perf_counter()
    big = NameIndex(entries)
    built = time.perf_counter() - started
    organization = [
        Subject("name", "Kandahar Food Program for Widows"),
        Subject("principal", "Haji Gul Ahmad Wardak", birth_year=1970, nationality="Afghan"),
        Subject("principal", "Fatima Rahimi"),
        Subject("principal", "Mohammad Nasim Karimi"),
        Subject("principal", "سراج الدین حقانی"),
    ]
    big.screen_all(organization, threshold=args.threshold)  # warm the caches
    runs = 20
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(runs):
        hits = big.screen_all(organization, threshold=args.threshold)
    each = (time.perf_counter() - started) / runs
    each_cpu = (time.process_time() - cpu) / runs
    print()
    print(
        f"index of {len(entries)} entries ({len(big)} names) built in {built:.2f} s"
        " (once per list version)"
    )
    print(
        f"one organization (a name, 4 principals) against {len(entries)} entries:"
        f" {each * 1000:.1f} ms, {each_cpu * 1000:.1f} ms CPU"
        f" ({len(hits)} hits; load average {os.getloadavg()[0]:.1f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
