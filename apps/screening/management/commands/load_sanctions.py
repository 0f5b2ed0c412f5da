"""manage.py load_sanctions --source un|ofac|eu|uk FILE [--alt ALT.csv] [--list-version V]

Loads a published list file as the active version of its source, replacing the previous one
atomically; the same file again changes nothing; a malformed file changes nothing. Every
organization is rescreened afterwards (a Celery task). The files:

- un: the UN Security Council Consolidated List XML (consolidated.xml);
- ofac: OFAC's sdn.csv, with alt.csv (aliases) as --alt;
- eu: the EU Financial Sanctions File XML (xmlFullSanctionsList_1_1);
- uk: the FCDO UK Sanctions List CSV (UK-Sanctions-List.csv).
"""

import datetime as dt
import os
from contextlib import ExitStack

from django.core.management.base import BaseCommand, CommandError

from aidmatch.screening.eu import parse_eu
from aidmatch.screening.ofac import parse_ofac
from aidmatch.screening.types import ListFormatError
from aidmatch.screening.uk import parse_uk
from aidmatch.screening.un import parse_un
from apps.screening.services import sanctions_list_load, sha256_of

FILES = {
    "un": "consolidated.xml",
    "ofac": "sdn.csv",
    "eu": "xmlFullSanctionsList_1_1 (XML)",
    "uk": "UK-Sanctions-List.csv",
}


class Command(BaseCommand):
    help = (
        "Load a published sanctions list as the active one of its source: the UN Consolidated "
        "List XML, OFAC's SDN CSV (with alt.csv), the EU financial sanctions XML or the UK "
        "Sanctions List CSV."
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", choices=sorted(FILES), required=True)
        parser.add_argument("file", help="; ".join(f"{s}: {f}" for s, f in FILES.items()))
        parser.add_argument("--alt", help="OFAC alt.csv (aliases)")
        parser.add_argument(
            "--list-version",
            help="OFAC (its CSV carries no date: defaults to the file's modification date), or "
            "UK (overrides the file's Report Date)",
        )

    def handle(self, *args, source, file, alt=None, list_version=None, **options):
        paths = [file] + ([alt] if alt else [])
        for path in paths:
            if not os.path.isfile(path):
                raise CommandError(f"No such file: {path}")
        if alt and source != "ofac":
            raise CommandError("--alt goes with --source ofac.")
        if list_version and source not in ("ofac", "uk"):
            raise CommandError("--list-version goes with --source ofac or uk.")
        digest = sha256_of(paths)
        self.stdout.write(f"Reading {source} list from {file} (sha256 {digest[:16]}…)")

        def progress(count: int) -> None:
            self.stdout.write(f"  {count} entries stored…")

        try:
            with ExitStack() as files:
                parsed = _parse(source, file, alt, list_version, files)
                result = sanctions_list_load(parsed=parsed, file_sha256=digest, progress=progress)
        except ListFormatError as exc:
            raise CommandError(f"Nothing loaded: {exc}") from exc
        loaded = result.sanctions_list
        if not result.changed:
            self.stdout.write(
                f"Unchanged: {source} {loaded.version} is already active (same file). "
                "Nothing to do."
            )
            return
        replaced = f", replacing {result.replaced.version}" if result.replaced else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {source} {loaded.version}: {loaded.entry_count} entries{replaced}. "
                "Rescreening every organization."
            )
        )


def _parse(source: str, file: str, alt: str | None, list_version: str | None, files: ExitStack):
    """The parsed list (entries still streaming from files kept open by ``files``)."""
    if source == "un":
        return parse_un(file)
    if source == "eu":
        return parse_eu(file)
    if source == "uk":
        return parse_uk(_open(files, file), version=list_version)
    version = list_version or dt.datetime.fromtimestamp(os.path.getmtime(file), tz=dt.UTC).strftime(
        "%Y-%m-%d"
    )
    alts = _open(files, alt) if alt else None
    return parse_ofac(_open(files, file), alts, version=version)


def _open(files: ExitStack, path: str):
    return files.enter_context(open(path, "rb"))  # closed by the ExitStack
