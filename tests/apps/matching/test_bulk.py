"""Bulk statements (COPY for inserts, one array literal a column for updates): any text
survives the trip."""

import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.matching.models import Allocation
from apps.matching.services.bulk import bulk_insert, bulk_update
from apps.pledges.models import Pledge
from tests.factories import NeedFactory, PledgeFactory

pytestmark = pytest.mark.django_db

AMOUNTS = (Decimal("1.50"), Decimal("2"))
AWKWARD = ['a "quoted", {braced} \\ back\\slash', "NULL", "", "  spaced  ", "ünïcødé\nline"]


def test_text_of_any_shape_survives_a_bulk_update():
    pledges = [PledgeFactory() for _ in AWKWARD]

    bulk_update(
        Pledge,
        {"public_message": "text"},
        [(p.pk, text) for p, text in zip(pledges, AWKWARD, strict=True)],
    )

    assert [Pledge.objects.get(pk=p.pk).public_message for p in pledges] == AWKWARD


def test_text_and_json_of_any_shape_survive_a_bulk_insert():
    pledge, need = PledgeFactory(), NeedFactory()
    now = timezone.now()
    explanation = {"why": 'tab\there, "quoted" \\ back\\slash\nnew line', "n": [1, None]}

    bulk_insert(
        Allocation,
        {
            "id": "uuid",
            "pledge_id": "uuid",
            "need_id": "uuid",
            "amount": "numeric",
            "need_amount": "numeric",
            "rate_source": "text",
            "explanation": "jsonb",
            "rate_date": "date",
        },
        [(uuid.uuid4(), pledge.pk, need.pk, *AMOUNTS, AWKWARD[0], explanation, None)],
        status="released",  # no money on the pledge's or need's totals
        rate=Decimal(1),
        disbursed_amount=Decimal(0),
        close_reason="",
        proposed_at=now,
        updated_at=now,
    )

    allocation = Allocation.objects.get(pledge=pledge)
    assert (allocation.rate_source, allocation.explanation) == (AWKWARD[0], explanation)
    assert (allocation.amount, allocation.rate_date, allocation.proposed_at) == (
        Decimal("1.50"),
        None,
        now,
    )


def test_new_ids_are_distinct_version_4_uuids_as_text():
    from apps.matching.services.bulk import uuid4_texts

    ids = uuid4_texts(5000)

    assert len(set(ids)) == 5000 and uuid4_texts(0) == []
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)
