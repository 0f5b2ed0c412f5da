"""A tranche's action locks the tranche's row, not the currency or organization it names."""

import psycopg2
import pytest
from django.db import connection, transaction

from apps.disbursements import services as tranches
from tests.apps.disbursements.test_transitions import S, a_world, tranche_in

pytestmark = pytest.mark.django_db


def test_locking_a_tranche_leaves_its_currency_row_free_for_other_transactions(donor):
    org, _, _, allocation = a_world(donor)
    tranche = tranche_in(S.SCHEDULED, donor, org, allocation)
    other = psycopg2.connect(**connection.get_connection_params())
    try:
        with transaction.atomic():
            tranches._locked_tranche(tranche.pk)
            # What every insert naming USD runs at commit (its deferred foreign-key check):
            # under a FOR UPDATE of the currency row it would wait (here: fail at once).
            with other.cursor() as cursor:
                cursor.execute(
                    "SELECT code FROM reference_currency WHERE code = 'USD' FOR KEY SHARE NOWAIT"
                )
                assert cursor.fetchall() == [("USD",)]
    finally:
        other.close()
