"""Properties of money input and of the need services, for any input (hypothesis).

- ``AmountField`` and ``validate_amount_for_currency``: any value either becomes a positive
  amount with at most the currency's decimals, or is refused with a ValidationError; nothing
  else is raised.
- ``NeedInputSerializer``: any JSON object, and any value in its amount fields, leaves
  ``is_valid()`` returning (never raising); what it accepts has the currency's decimals; plain
  decimals with at most those decimals round-trip exactly.
- ``need_update`` and ``need_cancel`` on a need with proposals and commitments from two pledges:
  a DomainError or success, never another exception, and the totals hold afterwards.
- Over the API, any amount in any currency is kept exactly (and shown with the currency's
  decimals) or refused with a 400 problem naming the field, and nothing is written.
"""

import contextlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import event, given, settings
from hypothesis import strategies as st
from rest_framework import serializers

from aidmatch.errors import DomainError, StateConflict
from aidmatch.lifecycle import NeedStatus
from apps.core.money import AmountField, money_str, validate_amount_for_currency
from apps.matching.services.allocations import allocation_commit
from apps.needs import services
from apps.needs.api.serializers import NeedInputSerializer
from apps.needs.models import Need
from tests.apps.pledges.test_properties import assert_invariants
from tests.conftest import client_for
from tests.factories import MembershipFactory, NeedFactory, PledgeFactory, propose

# The same examples on every run, so that CI is reproducible.
PROPERTY = settings(deadline=None, derandomize=True)
MINOR_UNITS = {"USD": 2, "AFN": 2, "JPY": 0, "KWD": 3}
CURRENCIES = st.sampled_from(sorted(MINOR_UNITS))

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=30),
    st.decimals().map(str),
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
# What may arrive in an amount field: numbers as text in every spelling, and any JSON.
AMOUNT_LIKE = st.one_of(
    JSON,
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.from_regex(r"\A\s?-?[0-9]{0,22}([.,][0-9]{0,8})?([eE][+-]?[0-9]{1,3})?\s?\Z"),
    st.sampled_from(["1e3", "1E-2", "0", "-0", "0.00", "NaN", "sNaN", "-Infinity", "١٢٣", "12,50"]),
)


def half(first: st.SearchStrategy, second: st.SearchStrategy) -> st.SearchStrategy:
    """``first`` half the time (``st.one_of`` would weigh each of ``second``'s branches alike)."""
    return st.booleans().flatmap(lambda pick_first: first if pick_first else second)


def plain_decimals(high: int) -> st.SearchStrategy:
    """Decimal strings from 0 to ``high`` with 0 to 4 decimals ("12", "12.5", "12.5000")."""
    return st.integers(0, 4).flatmap(
        lambda places: st.integers(0, high * 10**places).map(
            lambda units: str(Decimal(units).scaleb(-places))
        )
    )


def assert_an_amount_for(amount, minor_unit: int) -> None:
    assert isinstance(amount, Decimal)
    assert amount.is_finite() and amount > 0
    assert amount.as_tuple().exponent >= -minor_unit, amount


def valid_need(**changes) -> dict:
    return {
        "title": "Winter fuel for 40 families",
        "sector": "food_security",
        "province": "AF01",
        "currency": "USD",
        "amount": "1000.00",
        "urgency": 3,
        "deadline": (timezone.now().date() + timedelta(days=30)).isoformat(),
        **changes,
    }


# --- AmountField and validate_amount_for_currency (no database) ---------------------------------


@settings(PROPERTY)
@given(value=AMOUNT_LIKE)
def test_amount_field_accepts_only_plain_positive_decimals(value):
    field = AmountField()
    try:
        amount = field.run_validation(value)
    except serializers.ValidationError:
        return
    assert_an_amount_for(amount, 4)
    assert isinstance(value, int | str) and not isinstance(value, bool)
    assert amount == Decimal(str(value).strip())


@settings(PROPERTY)
@given(
    amount=st.one_of(
        st.decimals(allow_nan=True, allow_infinity=True),
        st.decimals(min_value=0, max_value=10**14, places=4),
        # Any magnitude: digits times a power of ten, from 1E-40 to 1E+40.
        st.builds(Decimal.scaleb, st.integers(-(10**9), 10**9).map(Decimal), st.integers(-40, 40)),
    ),
    minor_unit=st.sampled_from([0, 2, 3]),
)
def test_validate_amount_for_currency_refuses_or_keeps_the_exact_amount(amount, minor_unit):
    try:
        validated = validate_amount_for_currency(amount, minor_unit)
    except serializers.ValidationError as exc:
        assert set(exc.detail) == {"amount"}
        return
    assert_an_amount_for(validated, minor_unit)
    assert validated == amount


# --- NeedInputSerializer --------------------------------------------------------------------------


@pytest.mark.django_db
@settings(PROPERTY, max_examples=60)
@given(
    data=half(
        # a valid need with some fields (line items included) set to any JSON
        st.dictionaries(
            st.sampled_from(sorted(NeedInputSerializer().fields)), JSON, max_size=3
        ).map(lambda changes: valid_need(**changes)),
        st.dictionaries(st.text(max_size=20), JSON, max_size=6) | JSON,
    )
)
def test_need_input_never_raises_on_any_json(data):
    serializer = NeedInputSerializer(data=data)
    assert serializer.is_valid() or serializer.errors


@pytest.mark.django_db
@settings(PROPERTY, max_examples=80)
@given(
    currency=CURRENCIES,
    amount=AMOUNT_LIKE,
    unit_cost=AMOUNT_LIKE,
    quantity=st.one_of(st.integers(-5, 10**8), JSON),
    with_line_items=st.booleans(),
)
def test_need_input_amounts_have_the_currency_decimals(
    currency, amount, unit_cost, quantity, with_line_items
):
    data = valid_need(currency=currency, amount=amount)
    if with_line_items:
        del data["amount"]
        data["line_items"] = [
            {"description": "Fuel", "unit_cost": unit_cost, "quantity": quantity},
            {"description": "Stove", "unit_cost": "3", "quantity": 2},
        ]
    serializer = NeedInputSerializer(data=data)
    if not serializer.is_valid():
        assert serializer.errors
        return
    minor = MINOR_UNITS[currency]
    validated = serializer.validated_data
    if with_line_items:
        for item in validated["line_items"]:
            assert_an_amount_for(item["unit_cost"], minor)
    else:
        assert_an_amount_for(validated["amount"], minor)
        assert validated["amount"] == Decimal(str(amount).strip())


@pytest.mark.django_db
@settings(PROPERTY, max_examples=60)
@given(currency=CURRENCIES, units=st.integers(1, 10**13), data=st.data())
def test_plain_amounts_round_trip_exactly(currency, units, data):
    minor = MINOR_UNITS[currency]
    places = data.draw(st.integers(0, minor), label="places")
    text = str(Decimal(units).scaleb(-places))
    serializer = NeedInputSerializer(data=valid_need(currency=currency, amount=text))

    assert serializer.is_valid(), serializer.errors
    amount = serializer.validated_data["amount"]
    assert amount == Decimal(text)
    shown = money_str(amount, minor)  # how the API sends it back
    assert Decimal(shown) == amount
    assert shown == text if places == minor else len(shown.partition(".")[2]) == minor


@pytest.mark.django_db
@settings(PROPERTY, max_examples=40)
@given(currency=CURRENCIES, amount=AMOUNT_LIKE)
def test_an_edit_is_checked_against_the_needs_own_currency(currency, amount):
    need = NeedFactory(currency_id=currency, amount=Decimal(1000))
    serializer = NeedInputSerializer(need, data={"amount": amount}, partial=True)
    if serializer.is_valid():
        assert_an_amount_for(serializer.validated_data["amount"], MINOR_UNITS[currency])


# --- need_update and need_cancel ------------------------------------------------------------------


def _need_with_money() -> Need:
    """A need of 1000.00 with 300.00 committed and 450.00 proposed, from two pledges."""
    need = NeedFactory(amount=Decimal("1000.00"))
    first, second = (PledgeFactory(amount=Decimal("800.00")) for _ in range(2))
    allocation_commit(allocation_id=propose(first, need, Decimal("300.00")).pk)
    propose(second, need, Decimal("250.00"))
    other_need = NeedFactory(amount=Decimal("500.00"))
    propose(first, other_need, Decimal("200.00"))
    propose(second, other_need, Decimal("200.00"))
    return need


@pytest.mark.django_db
@settings(PROPERTY, max_examples=40)
@given(
    cents=st.integers(1, 200_000),
    changes=st.fixed_dictionaries(
        {},
        optional={
            "urgency": st.integers(1, 5),
            "deadline": st.integers(-5, 60).map(
                lambda days: timezone.now().date() + timedelta(days=days)
            ),
            "sector_id": st.just("education"),
        },
    ),
    cancel=st.booleans(),
)
def test_need_edits_never_go_below_the_committed_money(cents, changes, cancel):
    with transaction.atomic():
        need = _need_with_money()
        new_amount = Decimal(cents).scaleb(-2)
        try:
            services.need_update(need_id=need.pk, amount=new_amount, **changes)
        except DomainError as exc:
            need.refresh_from_db()
            assert need.amount == Decimal("1000.00")  # nothing written
            if not changes:
                assert isinstance(exc, StateConflict) and new_amount < Decimal("300.00"), exc
        else:
            need.refresh_from_db()
            assert need.amount == new_amount >= Decimal("300.00")  # never below what is committed
            assert need.committed_amount + need.proposed_amount <= new_amount
        if cancel:
            with contextlib.suppress(DomainError):
                services.need_cancel(need_id=need.pk)
            need.refresh_from_db()
            assert need.status != NeedStatus.CANCELLED  # money is committed to it
        assert_invariants()
        transaction.set_rollback(True)


# --- Over the API ---------------------------------------------------------------------------------


@pytest.mark.django_db
@settings(PROPERTY, max_examples=40)
@given(
    currency=st.sampled_from([*MINOR_UNITS, "XXX"]),
    amount=half(plain_decimals(10**6), AMOUNT_LIKE),
)
def test_any_amount_over_the_api_is_kept_exactly_or_refused_with_nothing_written(currency, amount):
    with transaction.atomic():
        staff = MembershipFactory().user
        before = Need.objects.count()

        response = client_for(staff).post(
            "/api/v1/needs/", valid_need(currency=currency, amount=amount), format="json"
        )

        body = response.json()
        event(f"create: {response.status_code}")
        if response.status_code == 201:
            minor = MINOR_UNITS[currency]
            assert body["amount"] == money_str(Decimal(str(amount).strip()), minor)
            assert Need.objects.count() == before + 1
        else:
            assert response.status_code == 400, body
            assert response["Content-Type"] == "application/problem+json"
            assert body["status"] == 400 and {"amount", "currency"} & set(body["errors"]), body
            assert Need.objects.count() == before
        transaction.set_rollback(True)
