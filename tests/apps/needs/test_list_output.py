"""The needs list, pinned byte for byte for every kind of caller, and what it costs in statements.

The golden file was written by the per-row serializers (before the list built its serializers
once per request), so the lean list is proven to send exactly what they sent, and to leave the
same audit trail. Regenerate only on a deliberate change of the output:
``AIDMATCH_WRITE_GOLDEN=1 scripts/test tests/apps/needs/test_list_output.py``.
"""

import json
import os
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aidmatch.access import MemberRole
from apps.audit.models import AuditEvent
from apps.core.fields import EncryptedTextField
from apps.needs.models import Need, NeedLineItem
from tests.conftest import client_for
from tests.factories import (
    ApiKeyFactory,
    MembershipFactory,
    NeedFactory,
    OrganizationFactory,
    PledgeFactory,
    UserFactory,
    propose,
)

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).with_name("golden") / "needs_list.json"
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
PAGES = ["/api/v1/needs/?page_size=4", "/api/v1/needs/?ordering=urgency&page_size=5"]


def _id(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def _world():
    """Three organizations (one sensitive), needs in every status a tier may see, with and
    without district, location and line items, in USD, JPY and KWD, one with a proposal."""
    plain = OrganizationFactory(id=_id(1), name="Kandahar Food Program", pseudonym="Partner AAA1")
    secret = OrganizationFactory(
        id=_id(2), name="Underground Girls School", pseudonym="Partner BBB2", sensitive=True
    )
    other = OrganizationFactory(id=_id(3), name="Balkh Schools Network", pseudonym="Partner CCC3")
    rows = [
        # (n, organization, status, district, location, currency, amount, urgency, line items)
        (11, plain, "open", "AF0101", "Behind the blue mosque", "USD", "1000.00", 5, 0),
        (12, plain, "draft", None, "", "USD", "250.50", 3, 0),
        (13, plain, "submitted", "AF0101", "House 14", "JPY", "150000", 2, 0),
        (14, plain, "open", None, "", "KWD", "12.500", 4, 2),
        (21, secret, "open", "AF0101", "Cellar under the tailor shop", "USD", "600.00", 5, 3),
        (22, secret, "draft", "AF0101", "Cellar", "USD", "75.25", 1, 0),
        (23, secret, "open", None, "", "USD", "90.00", 2, 0),
        (31, other, "open", "AF0101", "Next to the clinic", "USD", "5000.00", 3, 1),
        (32, other, "funded", None, "Warehouse 3", "USD", "100.00", 1, 0),
        (33, other, "open", "AF0101", "", "USD", "330.00", 4, 0),
    ]
    needs = {}
    for n, org, status, district, place, currency, amount, urgency, items in rows:
        need = NeedFactory(
            id=_id(100 + n),
            organization=org,
            title=f"Need {n} of {org.name}",
            description=f"What need {n} buys.",
            district_id=district,
            location_detail=place,
            currency_id=currency,
            amount=Decimal(amount),
            urgency=urgency,
            status=status,
            deadline=date(2027, 1, 1) + timedelta(days=n),
            beneficiaries_boys=n,
        )
        for position in range(items):
            NeedLineItem.objects.create(
                need=need,
                position=position + 1,
                description=f"Item {position + 1}",
                unit="box" if position % 2 else "",
                unit_cost=Decimal(amount) / items,
                quantity=1,
                amount=Decimal(amount) / items,
            )
        needs[n] = need
    propose(PledgeFactory(), needs[11], Decimal("100.00"))
    # the organizations' own ids and notes: shown on their own rows to their members and keys
    Need.objects.filter(pk=needs[11].pk).update(
        metadata={"crm_id": "KFP-11", "round": "2"}, external_reference="KFP/2026/11"
    )
    Need.objects.filter(pk=needs[21].pk).update(metadata={"batch": "7"}, external_reference="U-21")
    for i, (n, *_) in enumerate(rows):
        moment = T0 + timedelta(hours=i * 7 % len(rows))  # not the order of creation
        Need.objects.filter(pk=needs[n].pk).update(
            created_at=moment,
            updated_at=moment + timedelta(minutes=5),
            submitted_at=moment + timedelta(minutes=1) if n % 2 else None,
            approved_at=moment + timedelta(minutes=2) if n % 3 == 0 else None,
        )
    return plain, secret, other


def _clients(plain, secret):
    _, key = ApiKeyFactory.create(organization=plain, scopes=["needs:read"])
    return {
        "anonymous": client_for(),
        "donor": client_for(UserFactory()),
        "staff_of_plain": client_for(
            MembershipFactory(organization=plain, role=MemberRole.STAFF).user
        ),
        "staff_of_sensitive": client_for(
            MembershipFactory(organization=secret, role=MemberRole.ADMIN).user
        ),
        "verifier": client_for(UserFactory(platform_role="verifier")),
        "api_key_of_plain": client_for(api_key=key),
    }


def _every_page(client, path: str) -> list[str]:
    bodies = []
    while path:
        response = client.get(path)
        assert response.status_code == 200, response.content[:300]
        bodies.append(response.content.decode())
        path = json.loads(response.content)["next"]
    return bodies


def test_every_tier_gets_the_pinned_bytes_and_leaves_the_pinned_audit_trail():
    plain, secret, _ = _world()
    seen = {}
    for tier, client in _clients(plain, secret).items():
        last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        pages = [body for path in PAGES for body in _every_page(client, path)]
        reads = sorted(
            [e.object_type, e.object_id, e.detail]
            for e in AuditEvent.objects.filter(id__gt=last, action="confidential.read")
        )
        seen[tier] = {"pages": pages, "confidential_reads": reads}

    if os.environ.get("AIDMATCH_WRITE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(seen, indent=1, sort_keys=True) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert sorted(seen) == sorted(golden)
    for tier in golden:
        assert seen[tier]["pages"] == golden[tier]["pages"], tier
        assert seen[tier]["confidential_reads"] == golden[tier]["confidential_reads"], tier


def _statements(client, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


# Statements per page, whatever its length: the bearer token (2, knox: the token with its user,
# then the user's tokens), the caller's memberships (1), the page with its line items (1: a
# cursor page counts nothing, line items are a column of it), and for a page with confidential
# rows the audit trail of those reads (3: the chain's lock, its head, one insert for all rows).
BUDGET = {
    "anonymous": 1,
    "donor": 2 + 1 + 1,
    "staff_of_plain": 2 + 1 + 1 + 3,
    "staff_of_sensitive": 2 + 1 + 1 + 3,
    "verifier": 2 + 1 + 3,  # a verifier's memberships are not asked for
    "api_key_of_plain": 1 + 1 + 3,  # the key (its organization is on it)
}


@pytest.mark.parametrize(
    "tier",
    ["anonymous", "donor", "staff_of_plain", "staff_of_sensitive", "verifier", "api_key_of_plain"],
)
def test_a_page_costs_the_same_statements_whatever_its_length(tier):
    plain, secret, other = _world()
    client = _clients(plain, secret)[tier]
    path = "/api/v1/needs/?page_size=200"
    client.get(path)  # a key's first use is noted once; reference caches fill
    few = _statements(client, path)
    for org in (plain, secret, other):
        for _ in range(15):
            need = NeedFactory(organization=org, status="open")
            NeedLineItem.objects.create(
                need=need,
                position=1,
                description="x",
                unit_cost=need.amount,
                quantity=1,
                amount=need.amount,
            )
    many = _statements(client, path)

    assert len(many) == len(few), "\n".join(many)
    assert len(many) <= BUDGET[tier], "\n".join(many)


@pytest.mark.parametrize(
    ("tier", "decrypted"),
    # Only the exact locations of the rows shown in full, and only the non-empty ones (an empty
    # value is stored as itself); never an organization's contacts or principals.
    [("anonymous", 0), ("donor", 0), ("staff_of_plain", 2), ("verifier", 6)],
)
def test_a_page_decrypts_only_what_the_caller_sees(tier, decrypted, monkeypatch):
    plain, secret, _ = _world()
    client = _clients(plain, secret)[tier]
    client.get("/api/v1/needs/?page_size=200")
    seen = []
    decrypt = EncryptedTextField.decrypt

    def spy(field, value):
        if value:  # a token to decrypt (empty values are stored as themselves)
            seen.append(f"{field.model.__name__}.{field.name}")
        return decrypt(field, value)

    monkeypatch.setattr(EncryptedTextField, "decrypt", spy)

    assert client.get("/api/v1/needs/?page_size=200").status_code == 200
    assert len(seen) == decrypted and set(seen) <= {"Need.location_detail"}
