"""``manage.py reconcile``: check the ledger against the cached totals; non-zero exit on any
difference. The outcome is recorded (read by /healthz) unless ``--no-record``."""

import argparse
import json

from django.core.management.base import BaseCommand, CommandError

from apps.ledger.reconcile import reconcile, record_run


class Command(BaseCommand):
    help = (
        "Recompute every balance from the ledger's legs, compare with the cached totals of "
        "pledges, needs and allocations, and check the money invariants. Exits 1 on any "
        "difference."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--record",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="Store the outcome, read by /healthz (the default; --no-record to only print it).",
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print the report as JSON."
        )

    def handle(self, *args, record=True, as_json=False, **options):
        def progress(stage: str, done: int, total: int) -> None:
            self.stderr.write(f"  {stage}: {done}/{total}")

        report = reconcile(progress=progress)
        if record:
            record_run(report)
        if as_json:
            body = {
                "ok": report.ok,
                "counts": report.counts,
                "differences": report.differences_as_json(),
            }
            self.stdout.write(json.dumps(body, indent=2))
        else:
            self.stdout.write(report.render())
        if not report.ok:
            raise CommandError(
                f"The ledger does not reconcile: {len(report.differences)} difference(s).",
                returncode=1,
            )
