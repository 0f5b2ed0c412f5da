"""After a list load, the rescreen task runs and finds organizations that now match."""

import time

import pytest

from apps.screening.models import ScreeningHit
from apps.screening.tasks import rescreen_all_organizations, screen_organizations
from tests.apps.screening.helpers import ALT, SDN, UN, load
from tests.factories import OrganizationFactory
from tests.integration.conftest import broker_tasks, worker  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def test_a_list_load_rescreens_every_organization_after_the_commit(
    django_capture_on_commit_callbacks,
):
    listed = OrganizationFactory(
        status="verified", principals=[{"name": "Zabiullah Mujahed", "role": "spokesman"}]
    )
    clean = OrganizationFactory(
        status="verified", principals=[{"name": "Mina Hotak", "role": "director"}]
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        load("ofac", SDN, "--alt", str(ALT), "--list-version", "2026-10-02")

    # the rescreen, enqueued once the load committed (beside the outbox's eager relay)
    assert len([c for c in callbacks if c.__name__ != "relay_pending"]) == 1
    listed.refresh_from_db()
    clean.refresh_from_db()
    assert listed.status == "screening" and clean.status == "verified"
    assert ScreeningHit.objects.get(organization=listed).entry_ref == "9010"


def test_the_chunk_task_is_safe_to_repeat():
    load("un", UN)
    org = OrganizationFactory(
        status="pending", principals=[{"name": "Gul Agha Ishaqzai", "role": "x"}]
    )

    first = screen_organizations.delay([str(org.pk)]).get()
    second = screen_organizations.delay([str(org.pk)]).get()

    assert (first, second) == (1, 0)
    assert ScreeningHit.objects.filter(organization=org).count() == 1
    assert rescreen_all_organizations.delay().get() >= 1


@pytest.mark.worker
@pytest.mark.usefixtures("worker")
def test_a_real_worker_rescreens_after_a_load():
    org = OrganizationFactory(
        status="verified", principals=[{"name": "Amir Khan Motaqi", "role": "x"}]
    )

    load("un", UN)  # committed (transactional test): the task goes through Redis to the worker

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        org.refresh_from_db()
        if org.status == "screening":
            break
        time.sleep(0.3)
    assert org.status == "screening"
    assert ScreeningHit.objects.get(organization=org).entry_ref == "TAi.026"
