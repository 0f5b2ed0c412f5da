"""Thin tasks: rescreen every organization after a list load, in chunks of ids."""

from celery import shared_task

from aidmatch.lifecycle import OrganizationStatus
from apps.organizations.models import Organization
from apps.screening.services import organization_screen

CHUNK = 200


@shared_task(name="apps.screening.tasks.rescreen_all_organizations", acks_late=True)
def rescreen_all_organizations() -> int:
    """Enqueue one screening task per chunk of organizations; returns how many were queued."""
    ids = list(
        Organization.objects.exclude(status=OrganizationStatus.REJECTED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(ids), CHUNK):
        screen_organizations.delay([str(pk) for pk in ids[start : start + CHUNK]])
    return len(ids)


@shared_task(name="apps.screening.tasks.screen_organizations", acks_late=True)
def screen_organizations(organization_ids: list[str], trigger: str = "list load") -> int:
    """Screen each organization; safe to repeat (open hits are updated, not duplicated).
    Returns how many hits were opened."""
    opened = 0
    for organization_id in organization_ids:
        if Organization.objects.filter(pk=organization_id).exists():
            result = organization_screen(organization_id=organization_id, trigger=trigger)
            opened += len(result.opened)
    return opened
