from datetime import date
from decimal import Decimal

import factory

from apps.fx.models import ExchangeRate


class ExchangeRateFactory(factory.django.DjangoModelFactory):
    """1 USD = 70.5 AFN on 1 January 2026, from the UN operational rates, unless told."""

    class Meta:
        model = ExchangeRate

    base_id = "USD"
    quote_id = "AFN"
    rate = Decimal("70.5")
    date = date(2026, 1, 1)
    source = "UN operational rates"
