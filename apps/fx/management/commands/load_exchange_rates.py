"""manage.py load_exchange_rates PATH.csv — columns base,quote,rate,date,source (header required).

Every row is validated first (currencies, rates, dates, sources, clashes with recorded snapshots);
any problem is reported with its line number and nothing is written. Then new snapshots are
created and identical ones left alone, in one transaction, so a re-run changes nothing.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from aidmatch.fx import InvalidRateFile
from apps.accounts.models import User
from apps.fx import services

MAX_LISTED = 50


class Command(BaseCommand):
    help = "Load exchange-rate snapshots from a CSV file (base,quote,rate,date,source)."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="The CSV file, UTF-8, with a header row.")
        parser.add_argument(
            "--created-by",
            metavar="EMAIL",
            help="Record this account (a verifier) as the author of the new snapshots.",
        )

    def handle(self, *args, path: Path, created_by: str | None = None, **options):
        author = None
        if created_by:
            author = User.objects.filter(email__iexact=created_by).first()
            if author is None:
                raise CommandError(f"No account with the email {created_by}.")
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        self.stdout.write(f"Reading {path} …")
        try:
            result = services.exchange_rates_load_file(
                path=path,
                created_by=author,
                on_read=lambda n: self.stdout.write(f"  {n} row(s) valid; writing …"),
                progress=lambda done, total: self.stdout.write(f"  created {done}/{total}"),
            )
        except InvalidRateFile as exc:
            listed = [f"  {p}" for p in exc.problems[:MAX_LISTED]]
            if len(exc.problems) > MAX_LISTED:
                listed.append(f"  … and {len(exc.problems) - MAX_LISTED} more")
            header = f"{path}: {len(exc.problems)} problem(s); nothing was written."
            raise CommandError("\n".join([header, *listed])) from None
        self.stdout.write(
            self.style.SUCCESS(f"Done: {result.created} created, {result.unchanged} unchanged.")
        )
