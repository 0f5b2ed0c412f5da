"""``manage.py export_iati``: the IATI 2.03 files of every publishing organization (or of those
named), one activities file and one organisation file each, with a progress bar."""

import time
import uuid
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from apps.opendata.iati import write_activities, write_organisation
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
        activities = files = 0
        with tqdm(
            total=total, unit="org", desc="IATI export", file=self.stderr, dynamic_ncols=False
        ) as bar:
            for org in organizations.iterator(chunk_size=100):
                with open(directory / f"iati-activities-{org.pk}.xml", "wb") as out:
                    activities += write_activities(org, out)
                with open(directory / f"iati-organisation-{org.pk}.xml", "wb") as out:
                    write_organisation(org, out)
                files += 2
                bar.set_postfix(activities=activities)
                bar.update(1)
        self.stdout.write(
            f"Wrote {files} file(s): {activities} activit{'y' if activities == 1 else 'ies'} of "
            f"{total} organization(s) to {directory} in {time.monotonic() - started:.1f}s."
        )
