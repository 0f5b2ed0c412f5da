from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from aidmatch.lifecycle import NeedStatus
from apps.needs.models import Need
from tests.factories.organizations import OrganizationFactory


class NeedFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Need

    organization = factory.SubFactory(OrganizationFactory)
    title = factory.Sequence(lambda n: f"Food packages for families, round {n}")
    description = "Flour, rice, oil and pulses for families headed by widows."
    sector_id = "food_security"
    province_id = "AF01"
    district_id = "AF0101"
    location_detail = "Behind the blue mosque, third lane, house 14"
    beneficiaries_women = 120
    beneficiaries_girls = 200
    amount = Decimal("10000.00")
    currency_id = "USD"
    urgency = 4
    deadline = factory.LazyFunction(lambda: timezone.now().date() + timedelta(days=60))
    status = NeedStatus.OPEN
