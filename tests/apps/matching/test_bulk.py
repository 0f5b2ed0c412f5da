"""Bulk statements carry each column as one array literal: any text survives the trip."""

import pytest

from apps.matching.services.bulk import bulk_update
from apps.pledges.models import Pledge
from tests.factories import PledgeFactory

pytestmark = pytest.mark.django_db

AWKWARD = ['a "quoted", {braced} \\ back\\slash', "NULL", "", "  spaced  ", "ünïcødé\nline"]


def test_text_of_any_shape_survives_a_bulk_update():
    pledges = [PledgeFactory() for _ in AWKWARD]

    bulk_update(
        Pledge,
        {"public_message": "text"},
        [(p.pk, text) for p, text in zip(pledges, AWKWARD, strict=True)],
    )

    assert [Pledge.objects.get(pk=p.pk).public_message for p in pledges] == AWKWARD
