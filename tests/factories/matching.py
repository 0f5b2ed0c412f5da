from django.db import transaction

from apps.matching.locks import lock_needs, lock_pledges
from apps.matching.services.allocations import allocation_propose


def propose(pledge, need, amount, need_amount=None):
    """A proposal made the way matching makes them: under locks, through the service."""
    with transaction.atomic():
        locked_pledge = lock_pledges([pledge.pk])[pledge.pk]
        locked_need = lock_needs([need.pk])[need.pk]
        return allocation_propose(
            pledge=locked_pledge,
            need=locked_need,
            amount=amount,
            need_amount=need_amount if need_amount is not None else amount,
            explanation={"admitted_by": "test"},
        )
