"""manage.py load_exchange_rates: validate everything first, then upsert in one transaction."""

from datetime import date
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from aidmatch.fx import StaleExchangeRate
from apps.fx import selectors
from apps.fx.models import ExchangeRate
from apps.fx.services import SAMPLE_RATES
from tests.factories.fx import ExchangeRateFactory

pytestmark = pytest.mark.django_db

HEADER = "base,quote,rate,date,source\n"


def load(path, *args) -> str:
    out = StringIO()
    call_command("load_exchange_rates", str(path), *args, stdout=out)
    return out.getvalue()


def write(tmp_path, text, name="rates.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def snapshot_rows():
    return sorted(
        ExchangeRate.objects.values_list("base_id", "quote_id", "rate", "date", "source", "pk")
    )


def test_a_good_file_loads_and_a_rerun_changes_nothing(tmp_path, verifier):
    path = write(
        tmp_path,
        "\ufeff"  # a byte-order mark, as spreadsheets write it
        + "source, Date ,base,quote,rate\n"  # columns in any order, any case
        + "UN operational rates,2026-01-01,USD,AFN,66.20\n"
        + "\n"
        + 'Da Afghanistan Bank,2026-01-15,eur,AFN," 77.40 "\n'
        + "UN operational rates,2026-01-01,USD,AFN,66.2\n",  # the same snapshot again
    )
    out = load(path, "--created-by", verifier.email.upper())
    assert "3 row(s) valid" in out and "Done: 2 created, 1 unchanged." in out
    first = snapshot_rows()
    assert [r[:5] for r in first] == [
        ("EUR", "AFN", D("77.40"), date(2026, 1, 15), "Da Afghanistan Bank"),
        ("USD", "AFN", D("66.20"), date(2026, 1, 1), "UN operational rates"),
    ]
    assert set(ExchangeRate.objects.values_list("created_by", flat=True)) == {verifier.pk}

    again = load(path)
    assert "Done: 0 created, 3 unchanged." in again
    assert snapshot_rows() == first


def test_the_sample_file_lets_a_eur_pledge_meet_an_afn_need():
    out = load(SAMPLE_RATES)
    count = ExchangeRate.objects.count()
    assert f"Done: {count} created, 0 unchanged." in out and count >= 30
    assert "Done: 0 created" in load(SAMPLE_RATES)
    # The direct EUR/AFN rate of 2026-07-15 is too old by November: EUR converts through USD,
    # at the rates of 2026-11-01, while they are no older than FX_MAX_RATE_AGE_DAYS (7) ...
    amount, used = selectors.convert(
        amount=D("1000.00"), base="EUR", quote="AFN", on=date(2026, 11, 5)
    )
    assert used.source == "UN operational rates (via USD)" and used.date == date(2026, 11, 1)
    assert amount == D("76802.32")  # 1/0.86 × 66.05 = 76.8023255813…, rounded down
    pool = selectors.rates_to(quote="USD", on=date(2026, 11, 5))
    assert {"AFN", "EUR", "GBP", "PKR", "USD"} <= set(pool)
    # ... and not after: on 2026-11-25 the newest rate is 24 days old.
    with pytest.raises(StaleExchangeRate) as caught:
        selectors.convert(amount=D("1000.00"), base="EUR", quote="AFN", on=date(2026, 11, 25))
    assert caught.value.rate_date == date(2026, 11, 1)
    assert selectors.rates_to(quote="USD", on=date(2026, 11, 25)).keys() == {"USD"}


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ("XXX,AFN,1,2026-01-01,UN\n", "line 2: base: unknown currency 'XXX'"),
        ("USD,AFN,0,2026-01-01,UN\n", "line 2: rate: An exchange rate must be greater than zero"),
        ("USD,AFN,-3,2026-01-01,UN\n", "line 2: rate: An exchange rate must be greater than zero"),
        ("USD,AFN,seventy,2026-01-01,UN\n", "line 2: rate: 'seventy' is not a plain decimal"),
        ("USD,AFN,7e1,2026-01-01,UN\n", "line 2: rate: '7e1' is not a plain decimal"),
        ("USD,AFN,0.30000000000000004,2026-01-01,UN\n", "line 2: rate: At most 10 decimal"),
        ("USD,AFN,70,2026-02-30,UN\n", "line 2: date: '2026-02-30' is not a real calendar date"),
        ("USD,AFN,70,01/02/2026,UN\n", "line 2: date: '01/02/2026' is not a date"),
        ("USD,AFN,70,2026-01-01,\n", "line 2: source: A source is required"),
        ("USD,USD,1,2026-01-01,UN\n", "line 2: quote: must differ from base"),
        ("USD,AFN,70,2026-01-01\n", "line 2: expected 5 fields, found 4"),
        (
            "USD,AFN,70,2026-01-01,UN\nUSD,AFN,71,2026-01-01,UN\n",
            "line 3: repeats USD/AFN on 2026-01-01 from 'UN' (line 2) with another rate",
        ),
    ],
)
def test_a_bad_row_is_named_by_its_line_and_nothing_is_written(tmp_path, rows, expected):
    good = "USD,EUR,0.86,2026-01-01,UN\n"
    path = write(tmp_path, HEADER + rows + good)
    with pytest.raises(CommandError) as caught:
        load(path)
    assert expected in str(caught.value)
    assert "nothing was written" in str(caught.value)
    assert not ExchangeRate.objects.exists()


def test_every_problem_is_listed_at_once(tmp_path):
    path = write(
        tmp_path,
        HEADER
        + "USD,AFN,70,2026-01-01,UN\n"
        + "USD,AFN,abc,2026-01-01,UN\n"
        + "GBP,ZZZ,1.2,2026-13-01,UN\n"
        + "EUR,USD,1.08,2026-01-01,UN\n",
    )
    with pytest.raises(CommandError) as caught:
        load(path)
    message = str(caught.value)
    assert "2 problem(s)" in message
    assert "line 3: rate:" in message
    assert "line 4: quote: unknown currency 'ZZZ'; date:" in message
    assert not ExchangeRate.objects.exists()


@pytest.mark.parametrize(
    "header",
    ["", "base,quote,rate,date\n", "base,quote,rate,date,source,notes\n", "USD,AFN,70,x,y\n"],
)
def test_the_header_is_required(tmp_path, header):
    path = write(tmp_path, header + "USD,AFN,70,2026-01-01,UN\n")
    with pytest.raises(CommandError, match="line 1: the header must name the columns"):
        load(path)
    assert not ExchangeRate.objects.exists()


def test_a_row_that_would_change_a_recorded_rate_is_refused_and_nothing_is_written(tmp_path):
    ExchangeRateFactory(rate=D("70.5"), date=date(2026, 1, 1), source="UN")
    path = write(
        tmp_path,
        HEADER + "USD,EUR,0.86,2026-01-01,UN\n" + "USD,AFN,70.6,2026-01-01,UN\n",
    )
    with pytest.raises(CommandError) as caught:
        load(path)
    assert "line 3: 1 USD = 70.5000000000 AFN on 2026-01-01 from 'UN' is already recorded" in str(
        caught.value
    )
    assert ExchangeRate.objects.count() == 1 and ExchangeRate.objects.get().rate == D("70.5")


def test_a_missing_file_a_binary_file_and_an_unknown_author(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        load(tmp_path / "nope.csv")
    binary = tmp_path / "rates.xlsx"
    binary.write_bytes(b"PK\x03\x04\xff\xfe\x00garbage")
    with pytest.raises(CommandError, match="not UTF-8"):
        load(binary)
    path = write(tmp_path, HEADER + "USD,AFN,70,2026-01-01,UN\n")
    with pytest.raises(CommandError, match="No account"):
        load(path, "--created-by", "nobody@example.org")
    assert not ExchangeRate.objects.exists()
