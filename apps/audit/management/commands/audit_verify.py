"""``manage.py audit_verify``: check the audit trail's hash chain; exit 1 naming the first
event that was altered, removed or reordered."""

from django.core.management.base import BaseCommand, CommandError

from apps.audit.verify import verify_chain


class Command(BaseCommand):
    help = (
        "Walk the audit trail from its first event, recompute each event's hash and check it "
        "links to the one before. Exits 1 naming the first broken event."
    )

    def handle(self, *args, **options):
        def progress(done: int, total: int) -> None:
            self.stderr.write(f"  checked {done}/{total} events")

        report = verify_chain(progress=progress)
        if not report.ok:
            raise CommandError(
                f"Tampering detected at audit event {report.broken.event_id}: "
                f"{report.broken.reason}. The {report.checked} event(s) before it are intact.",
                returncode=1,
            )
        self.stdout.write(
            f"The audit trail is intact: {report.checked} event(s) checked; head hash "
            f"{report.head} (keep it elsewhere to detect events cut off the end)."
        )
