"""Properties of pledge input and of the money services, for any input (hypothesis).

- ``PledgeCreateSerializer``: any JSON object, and any value in ``amount``, leaves
  ``is_valid()`` returning (never raising); an accepted amount is positive with at most the
  currency's decimals.
- Any sequence of operations on two pledges and three needs (propose, commit, decline, release,
  release overdue, reduce, withdraw, change a need's amount, cancel or expire a need) either
  succeeds or raises a DomainError, never another exception; and after every step no pledge or
  need holds more than its amount, cached totals equal the sums of the allocation rows (and the
  ledger), and live statuses follow from the totals (aidmatch.lifecycle).
- Over the API, any amount in any currency, to create or to reduce a pledge, is kept exactly
  or refused with a 4xx problem naming the field, and nothing is written.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)

from aidmatch.errors import DomainError
from aidmatch.lifecycle import (
    ALLOCATION_COMMITTED,
    NEED_FUNDABLE,
    PLEDGE_LIVE,
    AllocationStatus,
    NeedStatus,
    PledgeStatus,
    need_funding_status,
    pledge_allocation_status,
)
from aidmatch.money import convert
from apps.core.money import money_str
from apps.ledger.reconcile import reconcile
from apps.matching.models import Allocation
from apps.matching.services import allocations as allocation_services
from apps.needs import services as need_services
from apps.needs.models import Need
from apps.pledges import services as pledge_services
from apps.pledges.api.serializers import PledgeCreateSerializer
from apps.pledges.models import Pledge
from tests.conftest import client_for
from tests.factories import NeedFactory, PledgeFactory, UserFactory, propose

# The same examples on every run, so that CI is reproducible.
PROPERTY = settings(deadline=None, derandomize=True)
MINOR_UNITS = {"USD": 2, "AFN": 2, "JPY": 0, "KWD": 3}
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30)),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
AMOUNT_LIKE = st.one_of(
    JSON,
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.from_regex(r"\A\s?-?[0-9]{0,22}([.,][0-9]{0,8})?([eE][+-]?[0-9]{1,3})?\s?\Z"),
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


def _sum(field_name: str, statuses) -> Sum:
    return Sum(f"allocations__{field_name}", filter=Q(allocations__status__in=list(statuses)))


def assert_invariants() -> None:
    """Every pledge and need in the database: within its amount, cached totals equal to the sums
    of the allocation rows, live statuses as the totals say, proposals only where money can go;
    and the ledger reconciles."""
    proposed, committed = [AllocationStatus.PROPOSED], ALLOCATION_COMMITTED
    pledges = Pledge.objects.annotate(
        rows_proposed=_sum("amount", proposed), rows_committed=_sum("amount", committed)
    )
    for p in pledges:
        assert p.proposed_amount + p.committed_amount <= p.amount <= p.original_amount, p
        assert (p.proposed_amount, p.committed_amount) == (
            p.rows_proposed or 0,
            p.rows_committed or 0,
        ), p
        if p.status in PLEDGE_LIVE:
            allocated = p.proposed_amount + p.committed_amount
            assert p.status == pledge_allocation_status(p.amount, allocated, p.disbursed_amount)
        elif p.status in (PledgeStatus.WITHDRAWN, PledgeStatus.EXPIRED):
            assert p.amount == p.committed_amount == p.proposed_amount == 0, p
    needs = Need.objects.annotate(
        rows_proposed=_sum("need_amount", proposed), rows_committed=_sum("need_amount", committed)
    )
    for n in needs:
        assert n.proposed_amount + n.committed_amount <= n.amount, n
        assert (n.proposed_amount, n.committed_amount) == (
            n.rows_proposed or 0,
            n.rows_committed or 0,
        ), n
        if n.status in {*NEED_FUNDABLE, NeedStatus.FUNDED}:
            assert n.status == need_funding_status(n.amount, n.committed_amount), n
        elif n.status in (NeedStatus.CANCELLED, NeedStatus.EXPIRED):
            assert n.proposed_amount == 0, n
    stray = Allocation.objects.filter(status=AllocationStatus.PROPOSED).exclude(
        pledge__status__in=list(PLEDGE_LIVE), need__status__in=list(NEED_FUNDABLE)
    )
    assert not stray.exists(), list(stray)
    report = reconcile()
    assert report.ok, report.render()


def valid_pledge(**changes) -> dict:
    return {"amount": "250.00", "currency": "USD", **changes}


# --- PledgeCreateSerializer -----------------------------------------------------------------------


@pytest.mark.django_db
@settings(PROPERTY, max_examples=60)
@given(
    data=half(
        # a valid pledge with some fields set to any JSON
        st.dictionaries(
            st.sampled_from(sorted(PledgeCreateSerializer().fields)), JSON, max_size=3
        ).map(lambda changes: valid_pledge(**changes)),
        st.dictionaries(st.text(max_size=20), JSON, max_size=6) | JSON,
    )
)
def test_pledge_input_never_raises_on_any_json(data):
    serializer = PledgeCreateSerializer(data=data)
    assert serializer.is_valid() or serializer.errors


@pytest.mark.django_db
@settings(PROPERTY, max_examples=80)
@given(
    currency=st.sampled_from([*MINOR_UNITS, "XXX", "usd", ""]),
    amount=AMOUNT_LIKE,
    extra=st.fixed_dictionaries(
        {},
        optional={
            "earmark_need": st.one_of(st.uuids().map(str), JSON),
            "earmark_sectors": st.one_of(st.lists(st.sampled_from(["education", "x"])), JSON),
            "commit_window": st.one_of(st.integers(-5, 10**6), JSON),
            "expires_at": st.one_of(st.datetimes().map(str), JSON),
        },
    ),
)
def test_pledge_amounts_have_the_currency_decimals(currency, amount, extra):
    serializer = PledgeCreateSerializer(
        data=valid_pledge(currency=currency, amount=amount, **extra)
    )
    if not serializer.is_valid():
        assert serializer.errors
        return
    validated = serializer.validated_data["amount"]
    assert validated.is_finite() and validated > 0
    assert validated.as_tuple().exponent >= -MINOR_UNITS[currency], validated
    assert validated == Decimal(str(amount).strip())


# --- The services, in any order -------------------------------------------------------------------

JPY_PER_USD = Decimal("150.5")
CENTS = st.integers(1, 150_000).map(lambda cents: Decimal(cents).scaleb(-2))


class MoneyMachine(RuleBasedStateMachine):
    """Two pledges in USD (one per donor) and three needs, two in USD and one in JPY; each run
    is rolled back at its end."""

    allocations = Bundle("allocations")

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.donors = [UserFactory(), UserFactory()]
        self.pledges = [
            PledgeFactory(donor=self.donors[0], amount=Decimal("1000.00")),
            PledgeFactory(donor=self.donors[1], amount=Decimal("600.00")),
        ]
        self.needs = [
            NeedFactory(amount=Decimal("400.00")),
            NeedFactory(amount=Decimal("700.00")),
            NeedFactory(amount=Decimal("90000"), currency_id="JPY"),  # at 150.5 JPY a dollar
        ]

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def attempt(self, service, **kwargs):
        """Run one service call: it succeeds or refuses with a DomainError, nothing else."""
        try:
            return service(**kwargs)
        except DomainError:
            return None

    @rule(target=allocations, p=st.integers(0, 1), n=st.integers(0, 2), amount=CENTS)
    def propose(self, p, n, amount):
        pledge, need = self.pledges[p], self.needs[n]
        live = Allocation.objects.filter(pledge=pledge, need=need, status=AllocationStatus.PROPOSED)
        if live.exists():  # matching proposes once per pair; the database holds it to that
            return None
        need_amount = convert(amount, JPY_PER_USD, 0) if need.currency_id == "JPY" else amount
        if need_amount <= 0:
            return None
        allocation = self.attempt(
            propose, pledge=pledge, need=need, amount=amount, need_amount=need_amount
        )
        return allocation.pk if allocation else None

    @rule(allocation_id=allocations, by_the_donor=st.booleans())
    def commit(self, allocation_id, by_the_donor):
        if allocation_id is not None:
            self.attempt(
                allocation_services.allocation_commit,
                allocation_id=allocation_id,
                actor=self._actor(allocation_id, by_the_donor),
            )

    @rule(allocation_id=allocations, by_the_donor=st.booleans())
    def decline(self, allocation_id, by_the_donor):
        if allocation_id is not None:
            self.attempt(
                allocation_services.allocation_decline,
                allocation_id=allocation_id,
                actor=self._actor(allocation_id, by_the_donor),
            )

    @rule(allocation_id=consumes(allocations))
    def release(self, allocation_id):
        if allocation_id is not None:
            self.attempt(
                allocation_services.allocation_release, allocation_id=allocation_id, reason="test"
            )

    @rule(days=st.integers(0, 10))
    def release_overdue(self, days):
        allocation_services.allocation_release_overdue(now=timezone.now() + timedelta(days=days))

    @rule(p=st.integers(0, 1), amount=st.one_of(CENTS, st.just(Decimal(0))), own=st.booleans())
    def reduce(self, p, amount, own):
        actor = self.donors[p if own else 1 - p]
        self.attempt(
            pledge_services.pledge_reduce, pledge_id=self.pledges[p].pk, actor=actor, amount=amount
        )

    @rule(p=st.integers(0, 1))
    def withdraw(self, p):
        self.attempt(
            pledge_services.pledge_withdraw, pledge_id=self.pledges[p].pk, actor=self.donors[p]
        )

    @rule(n=st.integers(0, 2), amount=CENTS)
    def change_need_amount(self, n, amount):
        self.attempt(need_services.need_update, need_id=self.needs[n].pk, amount=amount)

    @rule(n=st.integers(0, 2))
    def cancel_need(self, n):
        self.attempt(need_services.need_cancel, need_id=self.needs[n].pk)

    @rule(days=st.integers(0, 90))
    def expire_needs(self, days):
        need_services.need_expire_overdue(today=timezone.now().date() + timedelta(days=days))

    def _actor(self, allocation_id, by_the_donor):
        donor_id = Allocation.objects.values_list("pledge__donor", flat=True).get(pk=allocation_id)
        donor = next(d for d in self.donors if d.pk == donor_id)
        return donor if by_the_donor else next(d for d in self.donors if d is not donor)

    @invariant()
    def money_adds_up(self):
        assert_invariants()


@pytest.mark.django_db
def test_any_sequence_of_money_operations_keeps_the_invariants():
    run_state_machine_as_test(
        MoneyMachine,
        settings=settings(
            PROPERTY,
            max_examples=40,
            stateful_step_count=25,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


# --- Over the API ---------------------------------------------------------------------------------


@pytest.mark.django_db
@settings(PROPERTY, max_examples=40)
@given(
    currency=st.sampled_from([*MINOR_UNITS, "XXX"]),
    amount=half(plain_decimals(10**6), AMOUNT_LIKE),
    reduce_to=half(
        # around what is committed (300.00), placed (500.00) and pledged (1000.00)
        st.sampled_from(["299.99", "300", "300.00", "420.5", "500.00", "999.99", "1000.01"])
        | plain_decimals(1200),
        AMOUNT_LIKE,
    ),
)
def test_any_amount_over_the_api_is_kept_exactly_or_refused_with_nothing_written(
    currency, amount, reduce_to
):
    """Create a pledge with any amount, then reduce a pledge of 1000.00 with 300.00 committed
    and 200.00 proposed to any amount."""
    with transaction.atomic():
        donor = UserFactory()
        client = client_for(donor)
        before = Pledge.objects.count()

        created = client.post("/api/v1/pledges/", valid_pledge(currency=currency, amount=amount))

        event(f"create: {created.status_code}")
        if created.status_code == 201:
            minor = MINOR_UNITS[currency]
            assert created.json()["amount"] == money_str(Decimal(str(amount).strip()), minor)
            assert Pledge.objects.count() == before + 1
        else:
            assert_problem(created, 400, {"amount", "currency"})
            assert Pledge.objects.count() == before

        pledge = PledgeFactory(donor=donor, amount=Decimal("1000.00"))
        committed = propose(pledge, NeedFactory(), Decimal("300.00"))
        allocation_services.allocation_commit(allocation_id=committed.pk)
        propose(pledge, NeedFactory(), Decimal("200.00"))
        reduced = client.patch(f"/api/v1/pledges/{pledge.pk}", {"amount": reduce_to})

        pledge.refresh_from_db()
        event(f"reduce: {reduced.status_code}")
        if reduced.status_code == 200:
            assert Decimal("300.00") <= pledge.amount == Decimal(str(reduce_to).strip())
        else:
            # 400 bad amount, 409 below what is committed, 422 above the pledge's amount
            assert_problem(reduced, reduced.status_code, {"amount"})
            assert reduced.status_code in (400, 409, 422)
            assert pledge.amount == Decimal("1000.00")
        assert_invariants()
        transaction.set_rollback(True)


def assert_problem(response, status: int, fields: set) -> None:
    body = response.json()
    assert response.status_code == status, body
    assert response["Content-Type"] == "application/problem+json"
    assert body["status"] == status and fields & set(body.get("errors", {})), body
