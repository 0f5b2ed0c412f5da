"""A client generated from the served schema works as a partner app would use it.

``openapi-python-client`` (pinned in requirements-dev.txt, run offline) generates a client from
the live server's /api/schema/ into a temporary directory; generation must print no warning.
Then a short script goes through the generated client against a live server (pytest-django's
``live_server`` on the test PostgreSQL, Celery tasks eager, so matching runs when a pledge is
made): register, get a token, make a pledge with an Idempotency-Key and replay it, list the
allocations that matching proposed, read a need as a donor, the pledge's trace, and the
organization's funding as one of its staff. Every parsed object must be typed: a documented
field that landed in a model's ``additional_properties`` (what an untyped ``anyOf`` or a
response without a schema gives) fails the test.
"""

import datetime
import importlib
import json
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import attrs
import httpx
import pytest

from aidmatch.access import MemberRole
from apps.accounts import services as account_services
from apps.needs.models import NeedLineItem
from tests.factories import MembershipFactory, NeedFactory, OrganizationFactory, UserFactory

PACKAGE = "aidmatch_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
# No post-generation hooks (ruff): the generated code is imported, not kept.
CONFIG = "post_hooks: []\n"


def generate(schema: bytes, into: Path):
    """The generated client package, imported; fails on any warning of the generator."""
    (into / "schema.json").write_bytes(schema)
    (into / "config.yaml").write_text(CONFIG)
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(into / "schema.json"),
            "--config",
            str(into / "config.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(into / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    said = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode == 0, "\n".join(said)
    # A clean run says only which directory it generates.
    assert said == [f"Generating {into / PACKAGE}"], "\n".join(said)
    return importlib.import_module(PACKAGE)


@pytest.fixture
def importable(tmp_path, monkeypatch):
    """``tmp_path`` on the import path for this test only, and the generated package forgotten
    after it."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


def is_a_map(cls: type) -> bool:
    """A generated model of no documented field (an object declared with ``additionalProperties``:
    a problem's ``errors`` by field, an audit record's ``before``): its additional properties are
    its content."""
    return [f.name for f in attrs.fields(cls)] == ["additional_properties"]


def untyped(value, path: str = "$") -> list[str]:
    """Every place in a parsed response where a field was not typed: a key in a generated
    model's ``additional_properties``, or a bare dict where a model was expected."""
    found = []
    if attrs.has(type(value)):
        extra = getattr(value, "additional_properties", {})
        if extra and not is_a_map(type(value)):
            found += [f"{path}.{key} ({type(value).__name__})" for key in sorted(extra)]
        for field in attrs.fields(type(value)):
            if field.name != "additional_properties":
                found += untyped(getattr(value, field.name), f"{path}.{field.name}")
        for key, item in extra.items():
            found += untyped(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += untyped(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        found.append(f"{path} (a dict, not a model)")
    return found


@pytest.fixture
def world(django_db_serialized_rollback, live_server, settings):
    """A verified organization with an open need priced by line items, one of its staff, and
    (for the matching to be sure to propose to that need) no other open need. A new pledge
    starts matching, which runs in the request (tasks are eager)."""
    settings.MATCHING_TRIGGER_ON_CHANGE = True
    organization = OrganizationFactory(name="Herat Women's Bakery")
    staff = UserFactory(full_name="Sami Staff")
    MembershipFactory(user=staff, organization=organization, role=MemberRole.STAFF)
    need = NeedFactory(organization=organization, amount=Decimal("2000.00"))
    NeedLineItem.objects.create(
        need=need,
        position=0,
        description="Food package for a family of 8 for 5 weeks",
        unit="package",
        unit_cost=Decimal("100.00"),
        quantity=20,
        amount=Decimal("2000.00"),
    )
    _, staff_token = account_services.token_create(user=staff)
    return {"organization": organization, "need": need, "staff_token": staff_token}


def test_a_generated_client_reads_every_field_typed(world, live_server, importable):
    schema = httpx.get(
        f"{live_server.url}/api/schema/?format=json", headers={"Connection": "close"}, timeout=30
    )
    assert schema.status_code == 200
    gen = generate(schema.content, importable)
    models = importlib.import_module(f"{PACKAGE}.models")
    ops = {
        name: importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")
        for tag, name in [
            ("auth", "auth_register_create"),
            ("auth", "auth_token_create"),
            ("pledges", "pledges_create"),
            ("pledges", "pledges_trace_retrieve"),
            ("allocations", "allocations_list"),
            ("allocations", "allocations_commit_create"),
            ("needs", "needs_retrieve"),
            ("needs", "needs_list"),
            ("organizations", "organizations_retrieve"),
            ("organizations", "organizations_funding_retrieve"),
        ]
    }
    # One connection per request: the live server's request thread then ends, and closes its
    # database connection, with the request (so the test database can be dropped at the end).
    options = {"raise_on_unexpected_status": True, "headers": {"Connection": "close"}}
    anonymous = gen.Client(base_url=live_server.url, **options)

    def typed(response, status: int):
        assert response.status_code == status, response.content[:500]
        assert response.parsed is not None, response.content[:500]
        assert untyped(response.parsed) == []
        return response.parsed

    # Register, and get a token.
    email = f"dana-{uuid.uuid4().hex[:8]}@example.org"
    password = "a long and unusual passphrase 7"
    registered = typed(
        ops["auth_register_create"].sync_detailed(
            client=anonymous,
            body=models.RegisterRequest(email=email, password=password, full_name="Dana Donor"),
        ),
        201,
    )
    assert registered.email == email
    issued = typed(
        ops["auth_token_create"].sync_detailed(
            client=anonymous, body=models.TokenRequestRequest(email=email, password=password)
        ),
        201,
    )
    donor = gen.AuthenticatedClient(base_url=live_server.url, token=issued.token, **options)

    # A pledge with an Idempotency-Key, then the same request again: the same pledge, replayed.
    body = models.PledgeCreateRequest(amount="500.00", currency="USD")
    key = str(uuid.uuid4())
    made = ops["pledges_create"].sync_detailed(client=donor, body=body, idempotency_key=key)
    pledge = typed(made, 201)
    again = ops["pledges_create"].sync_detailed(client=donor, body=body, idempotency_key=key)
    assert typed(again, 201) == pledge
    assert json.loads(again.content) == json.loads(made.content)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert made.headers["Location"].endswith(f"/pledges/{pledge.id}/")
    assert isinstance(pledge.id, uuid.UUID) and pledge.amount == "500.00"

    # Matching ran when the pledge was made: its proposal, typed.
    allocations = typed(ops["allocations_list"].sync_detailed(client=donor), 200)
    assert len(allocations.results) == 1
    allocation = allocations.results[0]
    assert allocation.pledge == pledge.id and allocation.need == world["need"].pk
    assert allocation.status == models.AllocationStatusEnum.PROPOSED
    assert allocation.amount == "500.00"

    # The donor commits it (with a key of its own), so that money is expected.
    committed = typed(
        ops["allocations_commit_create"].sync_detailed(
            id=allocation.id, client=donor, idempotency_key=str(uuid.uuid4())
        ),
        200,
    )
    assert committed.status == models.AllocationStatusEnum.COMMITTED
    assert isinstance(committed.explanation, models.AllocationExplanation)
    assert committed.explanation.admitted_by

    # A need as a signed-in donor sees it: title and line items are typed attributes.
    need = typed(ops["needs_retrieve"].sync_detailed(client=donor, id=world["need"].pk), 200)
    assert need.title == world["need"].title
    assert isinstance(need.organization, models.OrganizationRef)
    [line] = need.line_items
    assert isinstance(line, models.LineItemOut)
    assert (line.description, line.quantity, line.unit_cost) == (
        "Food package for a family of 8 for 5 weeks",
        20,
        "100.00",
    )
    assert isinstance(need.deadline, datetime.date)
    assert need.location_detail is gen.types.UNSET  # the insiders' level only

    # The same need to the public, in a list: one model, the restricted fields absent.
    [public] = typed(ops["needs_list"].sync_detailed(client=anonymous), 200).results
    assert isinstance(public, models.NeedAtAnyDetail) and public.id == need.id
    assert public.title is gen.types.UNSET and public.line_items is gen.types.UNSET
    assert public.funded_amount == "500.00"
    assert public.status == models.NeedStatusEnum.PARTIALLY_FUNDED

    # Its organization, to the donor (an outsider) and to its staff (everything).
    outsider = typed(
        ops["organizations_retrieve"].sync_detailed(client=donor, id=world["organization"].pk),
        200,
    )
    assert outsider.name == "Herat Women's Bakery" and outsider.contact_name is gen.types.UNSET

    # The pledge's trace, typed down to the need it reached.
    trace = typed(ops["pledges_trace_retrieve"].sync_detailed(client=donor, id=pledge.id), 200)
    assert isinstance(trace, models.PledgeTrace)
    [traced] = trace.allocations
    assert traced.allocation == allocation.id and traced.need.title == need.title
    assert traced.status == models.AllocationStatusEnum.COMMITTED
    assert traced.tranches == [] and traced.reports == []
    assert trace.committed_amount == "500.00"

    # The organization's funding, as its staff read it.
    staff = gen.AuthenticatedClient(base_url=live_server.url, token=world["staff_token"], **options)
    funding = typed(
        ops["organizations_funding_retrieve"].sync_detailed(
            client=staff, id=world["organization"].pk
        ),
        200,
    )
    insider = typed(
        ops["organizations_retrieve"].sync_detailed(client=staff, id=world["organization"].pk),
        200,
    )
    assert isinstance(insider.contact_name, str) and insider.your_role == "staff"
    assert isinstance(funding, models.OrganizationFunding)
    assert funding.organization == world["organization"].pk
    [by_need] = funding.by_need
    assert (by_need.need, by_need.title, by_need.expected) == (need.id, need.title, "500.00")
    [by_donor] = funding.by_donor
    assert (by_donor.donor, by_donor.expected, by_donor.received) == (
        "Dana Donor",
        "500.00",
        "0.00",
    )


def test_the_checker_finds_a_field_left_untyped():
    """The checker itself: an extra key on a model, nested in a list, is reported."""

    @attrs.define
    class Model:
        name: str
        children: list
        additional_properties: dict = attrs.field(factory=dict)

    child = Model(name="child", children=[])
    child.additional_properties["title"] = "lost"
    assert untyped(Model(name="root", children=[child])) == ["$.children[0].title (Model)"]
    assert untyped(Model(name="root", children=[{"title": "x"}])) == [
        "$.children[0] (a dict, not a model)"
    ]
