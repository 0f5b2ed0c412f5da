"""Schemathesis against the served OpenAPI schema (/api/schema/), in-process through the WSGI
application, on every operation of the API, for every kind of caller: anonymous, a donor, an
organization's staff member and its admin, a verifier, and an API key.

Every generated request (valid, invalid, and the coverage phase's boundary cases) must get no
server error, and a status code, content type, headers and body the schema documents (errors
included, as application/problem+json); and it must leave the money invariants whole
(conftest). Each request meets the same world (conftest): half the time a path names one of its
objects, and the bodies of the money endpoints are realistic (with at most one bad field) half
the time. Generation is derandomized and bounded, so CI runs the same cases every time.

Run: scripts/test tests/contract
"""

from datetime import timedelta
from decimal import Decimal

import pytest
import schemathesis
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from config.wsgi import application
from tests.contract.checks import CHECKS, CONFIG, WITHOUT_COVERAGE
from tests.contract.conftest import CURRENT, ROLES, check_money_invariants, one_call

served = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG)
fuzzed = schemathesis.openapi.from_wsgi("/api/schema/", application, config=WITHOUT_COVERAGE)
MONEY_BODIES = [
    "POST /api/v1/needs/",
    "PATCH /api/v1/needs/{id}/",
    "POST /api/v1/pledges/",
    "PATCH /api/v1/pledges/{id}/",
]
money = served.include(name=MONEY_BODIES)
# /healthz reports on the broker and the workers, which these in-process runs do not start.
everything = served.exclude(path="/healthz")
everything_fuzzed = fuzzed.exclude(path="/healthz")
# The coverage phase's boundary cases (the bulk of the requests) go once per set of
# permissions: as a donor, as an organization's staff member, as a verifier. The other callers
# (anonymous, the admin, the API key) get the examples and fuzzing only, so the whole module
# stays within a few minutes.
WITH_COVERAGE = ["donor", "staff", "verifier"]

MINOR_UNITS = {"USD": 2, "AFN": 2, "JPY": 0, "KWD": 3}
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), max_size=40)


def amounts(minor_unit: int, low: int = 1, high: int = 20_000) -> st.SearchStrategy:
    """Plain decimal strings with the currency's decimals, between ``low`` and ``high``."""
    return st.integers(low * 10**minor_unit, high * 10**minor_unit).map(
        lambda units: str(Decimal(units).scaleb(-minor_unit))
    )


def bad_amounts(minor_unit: int) -> st.SearchStrategy:
    """Zero, negative, non-numeric and over-precise amounts, and JSON values other than strings."""
    over_precise = st.integers(1, 10**6).map(
        lambda units: str(Decimal(units * 10 + 1).scaleb(-minor_unit - 1))
    )
    return st.one_of(
        over_precise,
        st.sampled_from(
            ["0", "0.00", "-5.00", "1e3", "1E+2", "NaN", "Infinity", "12,50", "", "١٢"]
        ),
        st.integers(-(10**20), 10**20).map(str),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.none(),
        st.lists(st.integers(), max_size=2),
    )


def days_from_today(low: int, high: int) -> st.SearchStrategy:
    return st.integers(low, high).map(
        lambda days: (timezone.now().date() + timedelta(days=days)).isoformat()
    )


def with_one_bad_field(body: dict, bad: dict) -> st.SearchStrategy:
    """``body`` as it is, or with one field (possibly unknown) set to a bad value."""
    replace = st.sampled_from(sorted(bad)).flatmap(
        lambda name: bad[name].map(lambda value: {**body, name: value})
    )
    return st.one_of(st.just(body), replace)


@st.composite
def need_bodies(draw, *, partial: bool) -> dict:
    currency = draw(st.sampled_from(sorted(MINOR_UNITS)))
    minor = MINOR_UNITS[currency]
    body = {
        "title": draw(TEXT.filter(str.strip)),
        "sector": draw(st.sampled_from(["food_security", "education", "health"])),
        "province": "AF01",
        "district": draw(st.sampled_from(["AF0101", None])),
        "currency": currency,
        "amount": draw(amounts(minor)),
        "urgency": draw(st.integers(1, 5)),
        "deadline": draw(days_from_today(1, 400)),
    }
    if draw(st.booleans()):
        del body["amount"]
        body["line_items"] = draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "description": TEXT.filter(str.strip),
                        "unit_cost": amounts(minor, high=500),
                        "quantity": st.integers(1, 200),
                    }
                ),
                min_size=1,
                max_size=3,
            )
        )
    if partial:
        keep = draw(st.sets(st.sampled_from(sorted(body)), min_size=1, max_size=3))
        body = {k: v for k, v in body.items() if k in keep}
    else:
        body["organization"] = CURRENT.ids["own_organization"][0]
    bad = {
        "amount": bad_amounts(minor),
        "currency": st.sampled_from(["XXX", "usd", "", "US Dollar"]),
        "deadline": days_from_today(-400, -1),
        "urgency": st.sampled_from([0, 6, -1, 100]),
        "sector": st.sampled_from(["no_such_sector", ""]),
        "district": st.just("AF3201"),  # not in AF01
        "organization": st.just(CURRENT.ids["organizations"][1]),  # not the donor's
        "line_items": st.just([{"description": "x", "unit_cost": "1.0001", "quantity": 1}]),
        "status": st.just("funded"),  # read-only
    }
    return draw(with_one_bad_field(body, bad))


@st.composite
def pledge_bodies(draw) -> dict:
    currency = draw(st.sampled_from(sorted(MINOR_UNITS)))
    minor = MINOR_UNITS[currency]
    open_needs, closed_needs = CURRENT.ids["open_needs"], CURRENT.ids["closed_needs"]
    body = {
        "amount": draw(amounts(minor)),
        "currency": currency,
        "earmark_sectors": draw(st.lists(st.sampled_from(["food_security", "education"]))),
        "earmark_provinces": draw(st.lists(st.sampled_from(["AF01", "AF32"]), unique=True)),
        "earmark_need": draw(st.sampled_from([None, *open_needs])),
        "expires_at": draw(
            st.one_of(
                st.none(),
                st.integers(1, 24 * 365).map(
                    lambda hours: (timezone.now() + timedelta(hours=hours)).isoformat()
                ),
            )
        ),
        "commit_window": draw(st.integers(1, 24 * 90)),
        "auto_commit": draw(st.booleans()),
    }
    bad = {
        "amount": bad_amounts(minor),
        "currency": st.sampled_from(["XXX", "usd", ""]),
        "earmark_need": st.sampled_from(closed_needs),  # draft, submitted or cancelled
        "earmark_organization": st.just(CURRENT.ids["pending_organization"][0]),
        "earmark_sectors": st.just(["no_such_sector"]),
        "expires_at": st.just((timezone.now() - timedelta(hours=1)).isoformat()),
        "commit_window": st.sampled_from([0, -1, 24 * 91]),
        "committed_amount": st.just("1.00"),  # read-only
    }
    return draw(with_one_bad_field(body, bad))


BODIES = {
    "POST /api/v1/needs/": lambda: need_bodies(partial=False),
    "PATCH /api/v1/needs/{id}/": lambda: need_bodies(partial=True),
    "POST /api/v1/pledges/": pledge_bodies,
    # The world's pledges are in USD (10000.00 with 4000.00 committed, 900.00, 700.00 of
    # another donor): reductions, raises, and reductions below what is committed.
    "PATCH /api/v1/pledges/{id}/": lambda: st.fixed_dictionaries(
        {"amount": st.one_of(amounts(2, high=12_000), bad_amounts(2))}
    ),
}


def flatmap_body(context, body):
    """Half the time, a realistic body (with at most one bad field) on the money endpoints."""
    realistic = BODIES.get(context.operation.label)
    if realistic is None:
        return st.just(body)
    return st.one_of(realistic(), st.just(body))


# Path parameters that name an object of the world: by name, or for ``id`` by the collection.
PARAMETER_IDS = {"prefix": "api-keys", "membership_id": "membership_id"}
PARAMETER_IDS |= {"document_id": "document_id", "evidence_id": "evidence_id"}


def _ids_for(path: str, name: str) -> list[str]:
    if name == "id":
        return CURRENT.ids.get(path.removeprefix("/api/v1/").split("/")[0], [])
    return CURRENT.ids.get(PARAMETER_IDS.get(name, ""), [])


def flatmap_path_parameters(context, path_parameters):
    """Half the time, the ids of objects of the world in place of generated ones."""
    if not isinstance(path_parameters, dict):
        return st.just(path_parameters)
    path = context.operation.path
    real = {name: _ids_for(path, name) for name in path_parameters}
    real = {name: ids for name, ids in real.items() if ids}
    if not real:
        return st.just(path_parameters)
    named = st.fixed_dictionaries({name: st.sampled_from(ids) for name, ids in real.items()})
    return st.one_of(named.map(lambda ids: {**path_parameters, **ids}), st.just(path_parameters))


for _schema in (served, fuzzed):
    _schema.hook(flatmap_body)
    _schema.hook(flatmap_path_parameters)

# The world is made once per module and shared by every example, as a real client's would be.
SHARED_WORLD = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


def _call(case, role: str) -> None:
    with one_call():
        case.call_and_validate(headers=CURRENT.headers[role], checks=CHECKS)
        if case.method.upper() != "GET":  # a read moves no money
            check_money_invariants()


@pytest.mark.django_db
@money.parametrize()
@pytest.mark.parametrize("role", ["donor", "staff"])
@settings(SHARED_WORLD, max_examples=40)
def test_money_bodies(case, role, world):
    _call(case, role)


@pytest.mark.django_db
@everything.parametrize()
@pytest.mark.parametrize("role", WITH_COVERAGE)
@settings(SHARED_WORLD, max_examples=8)
def test_every_operation(case, role, world):
    _call(case, role)


@pytest.mark.django_db
@everything_fuzzed.parametrize()
@pytest.mark.parametrize("role", [role for role in ROLES if role not in WITH_COVERAGE])
@settings(SHARED_WORLD, max_examples=8)
def test_every_operation_without_the_coverage_phase(case, role, world):
    _call(case, role)
