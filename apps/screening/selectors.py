from django.db.models import QuerySet

from apps.screening.models import SanctionsList, ScreeningHit


def screening_hits() -> QuerySet[ScreeningHit]:
    """Every hit with what its list shows (for verifiers)."""
    return ScreeningHit.objects.select_related("organization", "entry", "resolved_by")


def sanctions_lists() -> QuerySet[SanctionsList]:
    """Every loaded list version, the active ones and those they replaced (for verifiers)."""
    return SanctionsList.objects.select_related("loaded_by")
