"""``manage.py export_iati``: the IATI 2.03 files of every publishing organization (or of those
named), one activities file and one organisation file each, with a progress bar."""

import time
import uuid
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from apps.opendata.iati import write_activities, write_organisation
from apps.opendata.iati.activities import published_needs
from apps.opendata.selectors import publishing_organizations


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class Command(BaseCommand):
    help = (
        "Write iati-activities-<id>.xml and iati-organisation-<id>.xml (IATI 2.03) for each "
        "publishing organization (opted in and verified) into the output directory."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output-dir", default="iati", help="Where to write the files (default: ./iati)."
        )
        parser.add_argument(
            "--organization",
            action="append",
            default=[],
            metavar="ID",
            help="Only this organization (repeat for several); it must publish open data.",
        )

    def handle(self, *args, output_dir="iati", organization=(), **options):
        organizations = publishing_organizations().order_by("pk")
        if organization:
            malformed = [value for value in organization if not _is_uuid(value)]
            if malformed:
                raise CommandError("Not an organization id: " + ", ".join(malformed))
            organizations = organizations.filter(pk__in=organization)
            found = {str(pk) for pk in organizations.values_list("pk", flat=True)}
            missing = sorted(set(organization) - found)
            if missing:
                raise CommandError(
                    "Not a publishing organization (unknown, not verified or not opted in): "
                    + ", ".join(missing)
                )
        directory = Path(output_dir)
        directory.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        total = organizations.count()
        activities = files = skipped = 0
        with tqdm(
            total=total, unit="org", desc="IATI export", file=self.stderr, dynamic_ncols=False
        ) as bar:
            for org in organizations.iterator(chunk_size=100):
                bar.update(1)
                if not published_needs(org).exists():
                    skipped += 1  # an activities file holds at least one activity (the XSD)
                    continue
                activities += _write(
                    directory / f"iati-activities-{org.pk}.xml", write_activities, org
                )
                _write(directory / f"iati-organisation-{org.pk}.xml", write_organisation, org)
                files += 2
                bar.set_postfix(activities=activities)
        self.stdout.write(
            f"Wrote {files} file(s): {activities} activit{'y' if activities == 1 else 'ies'} of "
            f"{total - skipped} organization(s) to {directory} in "
            f"{time.monotonic() - started:.1f}s"
            + (f"; {skipped} with nothing published yet skipped." if skipped else ".")
        )


def _write(path: Path, writer, organization):
    """Into a temporary file renamed when complete: a reader never sees half a file."""
    partial = path.with_suffix(".xml.partial")
    with open(partial, "wb") as out:
        result = writer(organization, out)
    partial.replace(path)
    return result
