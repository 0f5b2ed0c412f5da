"""``manage.py rotate_field_keys``: after prepending a new key to FIELD_ENCRYPTION_KEYS,
re-encrypt every confidential value and file with it; then the old key can be dropped."""

from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import audit_record
from apps.core.rotation import UndecryptableValue, rotate_field_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field and file with the first (newest) key of "
        "FIELD_ENCRYPTION_KEYS, in chunks, showing progress. Safe to stop and run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chunk-size", type=int, default=500)

    def handle(self, *args, chunk_size=500, **options):
        def progress(label, tally):
            self.stderr.write(
                f"  {label}: {tally.rows} rows checked, {tally.rewritten} re-encrypted"
            )

        try:
            tallies = rotate_field_keys(chunk_size=chunk_size, progress=progress)
        except UndecryptableValue as exc:
            raise CommandError(str(exc), returncode=1) from None
        audit_record(
            action="encryption.rotate_keys",
            object_type="encryption",
            detail={
                label: {"rows": t.rows, "rewritten": t.rewritten} for label, t in tallies.items()
            },
        )
        rewritten = sum(t.rewritten for t in tallies.values())
        rows = sum(t.rows for t in tallies.values())
        self.stdout.write(
            f"Rotated: {rewritten} of {rows} rows re-encrypted with the newest key across "
            f"{len(tallies)} tables ({', '.join(sorted(tallies))}). Once no value needs an older "
            "key, remove it from FIELD_ENCRYPTION_KEYS."
        )
