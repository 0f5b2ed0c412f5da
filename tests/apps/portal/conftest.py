"""The portal's tests: Django's test client with a session, against PostgreSQL."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from apps.needs.models import NeedLineItem
from tests.factories import NeedFactory

PAGE_LIMIT = 100 * 1024  # bytes of a page's body (the issue: under 100 KB transferred)


def signed_in(user, language: str | None = None) -> Client:
    client = Client()
    client.force_login(user)
    if language:
        client.cookies["aidmatch_language"] = language
    return client


@pytest.fixture
def need_x(org_x):
    """An open AFN need of org_x with one line item."""
    need = NeedFactory(
        organization=org_x,
        amount=Decimal("70000.00"),
        currency_id="AFN",
        deadline=timezone.now().date() + timedelta(days=30),
    )
    NeedLineItem.objects.create(
        need=need,
        position=1,
        description="Food package, family of 8, 4 weeks",
        unit_cost=Decimal("1750.00"),
        quantity=40,
        amount=Decimal("70000.00"),
    )
    return need


def assert_small(response):
    assert len(response.content) < PAGE_LIMIT, len(response.content)
