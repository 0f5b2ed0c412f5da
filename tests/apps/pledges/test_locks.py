"""Setting a pledge's partner fields locks the pledge's row, not the currency row it names."""

import psycopg2
import pytest
from django.db import connection, transaction

from apps.pledges.models import Pledge
from apps.pledges.services import pledge_set_partner_fields
from tests.factories import PledgeFactory

pytestmark = pytest.mark.django_db


def test_setting_partner_fields_leaves_the_currency_row_free_for_other_transactions(donor):
    pledge = PledgeFactory(donor=donor)
    other = psycopg2.connect(**connection.get_connection_params())
    try:
        with transaction.atomic():
            pledge_set_partner_fields(
                pledge_id=pledge.pk, actor=donor, external_reference="gift-2026-11"
            )
            # Every insert naming USD takes this lock at commit (its foreign-key check); under
            # a FOR UPDATE of the currency row it would wait for this transaction.
            with other.cursor() as cursor:
                cursor.execute(
                    "SELECT code FROM reference_currency WHERE code = 'USD' FOR KEY SHARE NOWAIT"
                )
                assert cursor.fetchall() == [("USD",)]
    finally:
        other.close()
    assert Pledge.objects.get(pk=pledge.pk).external_reference == "gift-2026-11"
