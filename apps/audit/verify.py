"""Walk the audit chain in order, recomputing every hash (streamed, in chunks)."""

from collections.abc import Callable
from dataclasses import dataclass

from aidmatch.audit import ChainBreak, ChainWalker
from apps.audit.models import AuditEvent

CHUNK = 2000


@dataclass
class ChainReport:
    checked: int
    head: str
    broken: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def verify_chain(*, progress: Callable[[int, int], None] | None = None) -> ChainReport:
    total = AuditEvent.objects.count()
    walker = ChainWalker()
    last_id = 0
    while True:
        chunk = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id")[:CHUNK])
        if not chunk:
            break
        for event in chunk:
            broken = walker.check(event.pk, event.prev_hash, event.hash, event.hashed_fields())
            if broken is not None:
                return ChainReport(walker.count, walker.head, broken)
        last_id = chunk[-1].pk
        if progress is not None:
            progress(walker.count, total)
    return ChainReport(walker.count, walker.head, None)
