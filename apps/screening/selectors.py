from django.db.models import QuerySet

from apps.screening.models import ScreeningHit


def screening_hits() -> QuerySet[ScreeningHit]:
    """Every hit with what its list shows (for verifiers)."""
    return ScreeningHit.objects.select_related("organization", "entry", "resolved_by")
