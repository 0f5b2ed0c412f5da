from django.core.management.base import BaseCommand

from apps.ledger.services import ledger_backfill


class Command(BaseCommand):
    help = (
        "Post the opening ledger transactions of pledges and committed allocations made before "
        "the ledger existed. Run once after migrating an existing database; safe to repeat."
    )

    def handle(self, *args, **options):
        done = ledger_backfill()
        self.stdout.write(
            f"Opened {done['pledges']} pledge(s) and {done['commitments']} commitment(s)."
        )
