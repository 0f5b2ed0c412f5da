"""The incremental path with a real worker: a pledge posted through the API is proposed while a
full run holds the matching lock."""

from decimal import Decimal

import pytest

from apps.core.leases import lease_acquire, lease_release
from apps.matching.models import Allocation, MatchRun
from apps.matching.services.runs import LEASE_NAME
from tests.conftest import client_for
from tests.factories import NeedFactory, UserFactory
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.worker


@pytest.fixture
def matching_on(settings):
    settings.MATCHING_TRIGGER_ON_CHANGE = True


def test_the_worker_proposes_a_new_pledge_while_a_full_run_holds_the_lock(worker, matching_on):
    need = NeedFactory(amount=Decimal("800.00"), urgency=5)
    # a full run in progress elsewhere holds the matching lease
    assert lease_acquire(name=LEASE_NAME, holder="a full run elsewhere", seconds=600)
    try:
        response = client_for(UserFactory()).post(
            "/api/v1/pledges/", {"amount": "500.00", "currency": "USD"}, format="json"
        )
        assert response.status_code == 201, response.json()
        allocation = wait_for(
            lambda: Allocation.objects.filter(pledge_id=response.json()["id"]).first()
        )
        assert (allocation.need_id, allocation.amount) == (need.pk, Decimal("500.00"))
        run = MatchRun.objects.get(pk=allocation.match_run_id)
        assert (run.mode, run.status, run.created) == ("incremental", "succeeded", 1)
        # the full run it scheduled waits for the lock
        assert MatchRun.objects.filter(mode="full", status="queued").exists()
    finally:
        lease_release(name=LEASE_NAME, holder="a full run elsewhere")
    wait_for(lambda: MatchRun.objects.filter(mode="full", status="succeeded").exists())
