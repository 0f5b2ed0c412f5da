"""scripts/check-translations: passes on the repository, fails (naming the message) on a copy
with a marked message nobody extracted or translated, or with a fuzzy one; the tree it checks
is left as it was; and one message translated two ways in two catalogs fails it."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts/check-translations"
SKIPPED = shutil.ignore_patterns(".git", ".venv", "var", "__pycache__", ".*_cache", "*.mo")


def check(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), str(tree)], capture_output=True, text=True, timeout=300)


@pytest.fixture
def copy(tmp_path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT, tree, ignore=SKIPPED, symlinks=True)
    return tree


def snapshot(tree: Path) -> dict[str, bytes]:
    return {str(p.relative_to(tree)): p.read_bytes() for p in tree.rglob("locale/*/*/*.po")}


def test_the_repository_has_every_message_in_dari_and_pashto():
    before = snapshot(ROOT)

    result = check(ROOT)

    assert result.returncode == 0, result.stderr
    assert "every message translated" in result.stdout
    assert snapshot(ROOT) == before  # no catalog rewritten (headers included)


def test_a_marked_message_without_a_translation_fails_the_check(copy):
    (copy / "apps/core/new_words.py").write_text(
        "from django.utils.translation import gettext_lazy\n\n"
        'GREETING = gettext_lazy("Welcome to the field portal.")\n'
    )
    before = snapshot(copy)

    result = check(copy)

    assert result.returncode == 1
    for catalog in ("locale/fa/LC_MESSAGES/django.po", "locale/ps/LC_MESSAGES/django.po"):
        assert (
            f"{catalog}: not extracted yet (run scripts/makemessages): "
            "'Welcome to the field portal.'"
        ) in result.stderr
    assert snapshot(copy) == before


def test_an_empty_or_fuzzy_translation_fails_the_check(copy):
    fa = copy / "locale/fa/LC_MESSAGES/django.po"
    ps = copy / "locale/ps/LC_MESSAGES/django.po"
    fa.write_text(
        fa.read_text().replace(
            'msgid "The file is empty."\nmsgstr "فایل خالی است."',
            'msgid "The file is empty."\nmsgstr ""',
        )
    )
    ps.write_text(ps.read_text().replace('msgid "Too high."\n', '#, fuzzy\nmsgid "Too high."\n'))

    result = check(copy)

    assert result.returncode == 1
    assert "no Dari translation: 'The file is empty.'" in result.stderr
    assert "fuzzy Pashto: 'Too high.'" in result.stderr


def test_a_translation_that_breaks_a_placeholder_fails_msgfmt(copy):
    ps = copy / "locale/ps/LC_MESSAGES/django.po"
    text = ps.read_text()
    broken = text.replace('msgstr "تر ټولو ډېر %(most)s."', 'msgstr "تر ټولو ډېر %(mostt)s."')
    assert broken != text
    ps.write_text(broken)

    result = check(copy)

    assert result.returncode == 1
    assert "msgfmt --check" in result.stderr


def test_one_message_translated_two_ways_in_two_catalogs_fails_the_check(copy):
    # Django merges the catalogs (locale/ over the apps'), so the portal's wording would never
    # be shown: the check says so instead.
    portal = copy / "apps/portal/locale/ps/LC_MESSAGES/django.po"
    text = portal.read_text()
    changed = text.replace(
        'msgid "The email or password is wrong."\nmsgstr "برېښنالیک یا پټنوم ناسم دی."',
        'msgid "The email or password is wrong."\nmsgstr "برېښنالیک یا پټنوم غلط دی."',
    )
    assert changed != text
    portal.write_text(changed)

    result = check(copy)

    assert result.returncode == 1
    assert "Pashto translations of 'The email or password is wrong.' differ" in result.stderr
