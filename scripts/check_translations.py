"""scripts/check-translations: every message of every catalog translated, in Dari and Pashto.

Copies the tree (without .git, .venv, var …) to a temporary directory, runs scripts/makemessages
there (which merges what the code marks now into the copied catalogs), then reads each catalog
of the copy: an empty or fuzzy translation fails, and so does a message the committed catalog
lacks (marked in the code, never extracted), and one message translated two ways in two
catalogs of one language. msgfmt --check runs on every committed catalog.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po

LANGUAGES = ("fa", "ps")
NAMES = {"fa": "Dari", "ps": "Pashto"}
SKIPPED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "var",
    "node_modules",
    "__pycache__",
    ".*_cache",
    "staticfiles",
    "*.mo",
    "*.pyc",
    "results",
)


def catalogs(root: Path) -> list[Path]:
    found = [root / "locale", *sorted(root.glob("apps/*/locale"))]
    return [
        d / lang / "LC_MESSAGES" / "django.po" for d in found if d.is_dir() for lang in LANGUAGES
    ]


def entries(path: Path) -> dict:
    with path.open("rb") as handle:
        return {m.id: m for m in read_po(handle, abort_invalid=False) if m.id}


def label(msgid) -> str:
    return repr(msgid[0] if isinstance(msgid, tuple) else msgid)


def disagreements(tree: Path) -> list[str]:
    """A message id translated differently in two catalogs of one language: Django merges the
    catalogs into one (LOCALE_PATHS over the apps'), so one of the two is never shown."""
    found: dict[tuple, dict[str, object]] = {}
    for committed in catalogs(tree):
        if committed.exists():
            lang = committed.parts[-3]
            for msgid, message in entries(committed).items():
                found.setdefault((lang, msgid), {})[str(committed.relative_to(tree))] = (
                    message.string
                )
    return [
        f"{NAMES[lang]} translations of {label(msgid)} differ: "
        + "; ".join(f"{where}: {string!r}" for where, string in by_catalog.items())
        for (lang, msgid), by_catalog in found.items()
        if len(set(map(str, by_catalog.values()))) > 1
    ]


def main(tree: Path) -> int:
    problems: list[str] = []
    here = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory(prefix="aidmatch-i18n-") as tmp:
        copy = Path(tmp) / "tree"
        shutil.copytree(tree, copy, ignore=SKIPPED, symlinks=True)
        made = subprocess.run(  # noqa: S603 (our own script, on our copy)
            [str(here / "makemessages"), str(copy)], capture_output=True, text=True
        )
        if made.returncode:
            print(made.stdout + made.stderr, file=sys.stderr)
            print("check-translations: makemessages failed", file=sys.stderr)
            return 1
        for extracted in catalogs(copy):
            relative = extracted.relative_to(copy)
            committed = tree / relative
            lang = relative.parts[-3]
            known = entries(committed) if committed.exists() else {}
            for msgid, message in entries(extracted).items():
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                if msgid not in known:
                    problems.append(
                        f"{relative}: not extracted yet (run scripts/makemessages): {label(msgid)}"
                    )
                elif message.fuzzy:
                    problems.append(f"{relative}: fuzzy {NAMES[lang]}: {label(msgid)}")
                elif not all(s.strip() for s in strings):
                    problems.append(f"{relative}: no {NAMES[lang]} translation: {label(msgid)}")
    problems += disagreements(tree)
    for committed in catalogs(tree):
        if not committed.exists():
            continue
        msgfmt = [shutil.which("msgfmt") or "msgfmt", "--check", "-o", "/dev/null"]
        checked = subprocess.run(  # noqa: S603 (gettext's msgfmt on our catalog)
            [*msgfmt, str(committed)], capture_output=True, text=True
        )
        if checked.returncode:
            problems.append(f"{committed.relative_to(tree)}: msgfmt --check: {checked.stderr}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"check-translations: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    counts = ", ".join(
        f"{c.relative_to(tree)}: {len(entries(c))}" for c in catalogs(tree) if c.exists()
    )
    print(f"check-translations: every message translated ({counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]).resolve()))
