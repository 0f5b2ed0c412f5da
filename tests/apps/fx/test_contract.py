"""Schemathesis on /api/v1/exchange-rates/ (the served schema, in-process): as a verifier, who may
record rates, and anonymously. No request, valid or not, gets a server error or a response the
schema does not document; half the bodies are realistic with at most one bad field."""

from datetime import date
from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from aidmatch.access import PlatformRole
from apps.accounts import services as account_services
from config.wsgi import application
from tests.contract.checks import CHECKS, CONFIG
from tests.factories import UserFactory
from tests.factories.fx import ExchangeRateFactory

schema = schemathesis.openapi.from_wsgi("/api/schema/", application, config=CONFIG).include(
    path_regex=r"^/api/v1/exchange-rates/"
)

CODES = st.sampled_from(["USD", "AFN", "EUR", "GBP", "JPY", "XXX", "usd", ""])
RATES = st.one_of(
    st.integers(1, 10**8).map(lambda n: str(Decimal(n).scaleb(-4))),
    st.sampled_from(["0", "-1", "1e3", "NaN", "0.30000000000000004", "abc", ""]),
    st.floats(allow_nan=False),
    st.none(),
)
DATES = st.one_of(
    st.dates(date(2020, 1, 1), date(2027, 12, 31)).map(date.isoformat),
    st.sampled_from(["2026-02-30", "tomorrow", ""]),
)
BODIES = st.fixed_dictionaries(
    {
        "base": CODES,
        "quote": CODES,
        "rate": RATES,
        "date": DATES,
        "source": st.sampled_from(["UN operational rates", "Da Afghanistan Bank", "", " "]),
    }
)
QUERIES = st.fixed_dictionaries(
    {
        "base": CODES,
        "quote": CODES,
        "amount": st.sampled_from(["250", "250.00", "0.001", "-1", "1e3", "x", "99999999999999"]),
    },
    optional={"on": DATES},
)


@schema.hook
def flatmap_body(context, body):
    if context.operation.label == "POST /api/v1/exchange-rates/":
        return st.one_of(BODIES, st.just(body))
    return st.just(body)


@schema.hook
def flatmap_query(context, query):
    if context.operation.path.endswith("/convert/"):
        return st.one_of(QUERIES, st.just(query))
    return st.just(query)


@pytest.fixture
def token(transactional_db) -> str:
    verifier = UserFactory(platform_role=PlatformRole.VERIFIER)
    ExchangeRateFactory(base_id="EUR", quote_id="USD", rate=Decimal("1.085"))
    ExchangeRateFactory()
    _, text = account_services.token_create(user=verifier)
    return text


SHARED = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@SHARED
def test_exchange_rates_as_a_verifier(case, token):
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)


@pytest.mark.django_db(transaction=True)
@schema.include(method="GET").parametrize()
@SHARED
def test_exchange_rates_anonymously(case, token):
    case.call_and_validate(checks=CHECKS)
