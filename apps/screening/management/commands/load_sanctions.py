"""manage.py load_sanctions --source un|ofac FILE [--alt ALT.csv] [--list-version V]

Loads a published list file (the UN Consolidated List XML, or OFAC's sdn.csv with alt.csv) as
the active version of its source, replacing the previous one atomically; the same file again
changes nothing. Every organization is rescreened afterwards (a Celery task).
"""

import datetime as dt
import os

from django.core.management.base import BaseCommand, CommandError

from aidmatch.screening.ofac import parse_ofac
from aidmatch.screening.types import ListFormatError
from aidmatch.screening.un import parse_un
from apps.screening.services import sanctions_list_load, sha256_of


class Command(BaseCommand):
    help = "Load a UN Consolidated List XML or an OFAC SDN CSV (with alt.csv) as the active list."

    def add_arguments(self, parser):
        parser.add_argument("--source", choices=["un", "ofac"], required=True)
        parser.add_argument("file", help="consolidated.xml (un) or sdn.csv (ofac)")
        parser.add_argument("--alt", help="OFAC alt.csv (aliases)")
        parser.add_argument(
            "--list-version",
            help="OFAC only (its CSV carries no date): defaults to the file's modification date",
        )

    def handle(self, *args, source, file, alt=None, list_version=None, **options):
        paths = [file] + ([alt] if alt else [])
        for path in paths:
            if not os.path.isfile(path):
                raise CommandError(f"No such file: {path}")
        if alt and source != "ofac":
            raise CommandError("--alt goes with --source ofac.")
        digest = sha256_of(paths)
        self.stdout.write(f"Reading {source} list from {file} (sha256 {digest[:16]}…)")

        def progress(count: int) -> None:
            self.stdout.write(f"  {count} entries stored…")

        try:
            if source == "un":
                result = sanctions_list_load(
                    parsed=parse_un(file), file_sha256=digest, progress=progress
                )
            else:
                version = list_version or dt.datetime.fromtimestamp(
                    os.path.getmtime(file), tz=dt.UTC
                ).strftime("%Y-%m-%d")
                with open(file, "rb") as sdn, open(alt, "rb") if alt else _nothing() as alts:
                    result = sanctions_list_load(
                        parsed=parse_ofac(sdn, alts, version=version),
                        file_sha256=digest,
                        progress=progress,
                    )
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


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False
