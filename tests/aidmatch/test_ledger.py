"""The ledger's pure rules: keys, IATI types, balanced postings, FX transfers, reversals."""

from decimal import Decimal

import pytest

from aidmatch.ledger import (
    AccountKind,
    IatiTransactionType,
    InvalidPosting,
    PostingLeg,
    UnbalancedPosting,
    account_key,
    check_posting,
    check_reversal,
    counterpart_type,
    imbalances,
    net,
    reversal,
    transfer,
)

D = Decimal
MINOR = {"USD": 2, "AFN": 2, "JPY": 0}
PLEDGE = account_key(AccountKind.DONOR_PLEDGE, "USD", "p1")
NEED_USD = account_key(AccountKind.NEED, "USD", "n1")
NEED_AFN = account_key(AccountKind.NEED, "AFN", "n2")
EXTERNAL = account_key(AccountKind.EXTERNAL, "USD")


def test_account_keys_name_kind_owner_and_currency():
    assert PLEDGE == "donor_pledge:p1:USD"
    assert account_key("fx", "AFN") == "fx:AFN"
    with pytest.raises(InvalidPosting):
        account_key(AccountKind.NEED, "AFN")  # a need account belongs to a need
    with pytest.raises(InvalidPosting):
        account_key(AccountKind.FX, "AFN", "n1")  # shared accounts have no owner
    with pytest.raises(InvalidPosting):
        account_key(AccountKind.FX, "usd")


def test_iati_codes_and_the_other_partys_view():
    assert [t.value for t in IatiTransactionType] == [1, 2, 3, 4, 11, 12, 13]
    assert counterpart_type(2) == IatiTransactionType.INCOMING_COMMITMENT
    assert counterpart_type(11) == IatiTransactionType.OUTGOING_COMMITMENT
    assert counterpart_type(13) == IatiTransactionType.OUTGOING_PLEDGE
    assert counterpart_type(3) == IatiTransactionType.INCOMING_FUNDS
    assert counterpart_type(4) is None


def test_a_balanced_posting_passes():
    check_posting(
        [PostingLeg(EXTERNAL, D("-100.00"), "USD"), PostingLeg(PLEDGE, D("100"), "USD")], MINOR
    )


def test_legs_that_do_not_sum_to_zero_are_refused_with_the_imbalance():
    legs = [PostingLeg(EXTERNAL, D("-100.00"), "USD"), PostingLeg(PLEDGE, D("99.99"), "USD")]

    with pytest.raises(UnbalancedPosting) as raised:
        check_posting(legs, MINOR)

    assert raised.value.imbalances == {"USD": D("-0.01")}


def test_each_currency_must_balance_on_its_own():
    # 100 USD out, 100 "AFN" in: the total is zero, but no currency balances.
    legs = [PostingLeg(PLEDGE, D("-100"), "USD"), PostingLeg(NEED_AFN, D("100"), "AFN")]

    assert imbalances(legs) == {"USD": D("-100"), "AFN": D("100")}
    with pytest.raises(UnbalancedPosting):
        check_posting(legs, MINOR)


@pytest.mark.parametrize(
    ("legs", "why"),
    [
        ([PostingLeg(PLEDGE, D("0"), "USD")], "one leg"),
        ([PostingLeg(EXTERNAL, D("0"), "USD"), PostingLeg(PLEDGE, D("0"), "USD")], "zero"),
        ([PostingLeg(EXTERNAL, -0.1, "USD"), PostingLeg(PLEDGE, 0.1, "USD")], "float"),
        (
            [PostingLeg(EXTERNAL, D("-0.005"), "USD"), PostingLeg(PLEDGE, D("0.005"), "USD")],
            "over-precise",
        ),
        ([PostingLeg(EXTERNAL, D("-1"), "USD"), PostingLeg(NEED_AFN, D("1"), "USD")], "currency"),
        ([PostingLeg("fx:XXX", D("-1"), "XXX"), PostingLeg("fx:XXX", D("1"), "XXX")], "unknown"),
    ],
)
def test_malformed_postings_are_refused(legs, why):
    with pytest.raises(InvalidPosting):
        check_posting(legs, MINOR)


def test_a_transfer_in_one_currency_has_two_legs():
    legs = transfer(source=PLEDGE, target=NEED_USD, amount=D("250.00"), currency="USD")

    assert legs == [
        PostingLeg(PLEDGE, D("-250.00"), "USD"),
        PostingLeg(NEED_USD, D("250.00"), "USD"),
    ]


def test_a_transfer_between_currencies_goes_through_fx_and_balances_per_currency():
    legs = transfer(
        source=PLEDGE,
        target=NEED_AFN,
        amount=D("100.00"),
        currency="USD",
        target_amount=D("7012.34"),
        target_currency="AFN",
    )

    assert legs == [
        PostingLeg(PLEDGE, D("-100.00"), "USD"),
        PostingLeg("fx:USD", D("100.00"), "USD"),
        PostingLeg("fx:AFN", D("-7012.34"), "AFN"),
        PostingLeg(NEED_AFN, D("7012.34"), "AFN"),
    ]
    check_posting(legs, MINOR)


def test_in_one_currency_what_leaves_is_what_arrives():
    with pytest.raises(InvalidPosting):
        transfer(
            source=PLEDGE, target=NEED_USD, amount=D("1"), currency="USD", target_amount=D("2")
        )
    with pytest.raises(InvalidPosting):
        transfer(source=PLEDGE, target=NEED_USD, amount=D("-1"), currency="USD")


def test_net_ignores_the_order_and_split_of_legs():
    a = [PostingLeg(EXTERNAL, D("-100.00"), "USD"), PostingLeg(PLEDGE, D("100"), "USD")]
    b = [
        PostingLeg(PLEDGE, D("60"), "USD"),
        PostingLeg(EXTERNAL, D("-100"), "USD"),
        PostingLeg(PLEDGE, D("40.00"), "USD"),
    ]
    assert net(a) == net(b)
    assert net(a) != net(reversal(a))


def test_partial_reversals_never_undo_more_than_the_original_moved():
    made = [PostingLeg(EXTERNAL, D("-1000"), "USD"), PostingLeg(PLEDGE, D("1000"), "USD")]
    first = [PostingLeg(PLEDGE, D("-600"), "USD"), PostingLeg(EXTERNAL, D("600"), "USD")]
    check_reversal(made, [], first)

    second = [PostingLeg(PLEDGE, D("-400"), "USD"), PostingLeg(EXTERNAL, D("400"), "USD")]
    check_reversal(made, first, second)  # exactly all of it

    third = [PostingLeg(PLEDGE, D("-0.01"), "USD"), PostingLeg(EXTERNAL, D("0.01"), "USD")]
    with pytest.raises(InvalidPosting, match="more than"):
        check_reversal(made, [*first, *second], third)


def test_a_reversal_runs_back_along_the_originals_accounts():
    made = [PostingLeg(EXTERNAL, D("-1000"), "USD"), PostingLeg(PLEDGE, D("1000"), "USD")]
    with pytest.raises(InvalidPosting, match="repeat"):
        check_reversal(made, [], made)
    elsewhere = [PostingLeg(NEED_USD, D("-1"), "USD"), PostingLeg(EXTERNAL, D("1"), "USD")]
    with pytest.raises(InvalidPosting, match="did not"):
        check_reversal(made, [], elsewhere)
