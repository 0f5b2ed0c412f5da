"""Periodic tasks, run as Celery tasks (in-process here; tests/integration runs a worker)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.matching.models import Allocation
from apps.matching.tasks import release_overdue_proposals
from apps.needs.tasks import expire_overdue_needs
from apps.pledges.tasks import expire_due_pledges
from tests.factories import NeedFactory, PledgeFactory, propose

pytestmark = pytest.mark.django_db


def test_proposals_past_their_commit_window_are_released_once():
    pledge = PledgeFactory(amount=Decimal("100.00"))
    overdue = propose(pledge, NeedFactory(), Decimal("60.00"))
    fresh = propose(pledge, NeedFactory(), Decimal("40.00"))
    Allocation.objects.filter(pk=overdue.pk).update(
        commit_deadline=timezone.now() - timedelta(minutes=1)
    )

    assert release_overdue_proposals.delay().get() == 1
    assert release_overdue_proposals.delay().get() == 0

    overdue.refresh_from_db()
    fresh.refresh_from_db()
    pledge.refresh_from_db()
    assert (overdue.status, fresh.status) == ("released", "proposed")
    assert pledge.proposed_amount == Decimal("40.00")
    assert overdue.need.__class__.objects.get(pk=overdue.need_id).remaining_amount == Decimal(
        "10000.00"
    )


def test_expiry_tasks_change_nothing_twice():
    pledge = PledgeFactory(expires_at=timezone.now() + timedelta(hours=1))
    need = NeedFactory()
    pledge.__class__.objects.filter(pk=pledge.pk).update(expires_at=timezone.now())
    need.__class__.objects.filter(pk=need.pk).update(
        deadline=timezone.now().date() - timedelta(days=2)
    )

    assert (expire_due_pledges.delay().get(), expire_overdue_needs.delay().get()) == (1, 1)
    assert (expire_due_pledges.delay().get(), expire_overdue_needs.delay().get()) == (0, 0)
