from decimal import Decimal

import factory

from apps.ledger.services import post_pledge_opening
from apps.pledges.models import Pledge
from tests.factories.accounts import UserFactory


class PledgeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pledge
        skip_postgeneration_save = True

    donor = factory.SubFactory(UserFactory)
    amount = Decimal("5000.00")
    original_amount = factory.SelfAttribute("amount")
    currency_id = "USD"

    @factory.post_generation
    def sectors(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.earmark_sectors.set(extracted)

    @factory.post_generation
    def provinces(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.earmark_provinces.set(extracted)

    @factory.post_generation
    def ledger(obj, create, extracted, **kwargs):
        """Ledger: a pledge as pledge_create leaves it, with its incoming-pledge posting."""
        if create and extracted is not False:
            post_pledge_opening(pledge=obj)
