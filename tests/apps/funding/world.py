"""A small world for the funding page's tests (the Django client's and the browser's): published
cells in two currencies, some of it committed, a pool of small cells that may be shown pooled,
and a sensitive organization's lone need that must never be singled out."""

from dataclasses import dataclass
from decimal import Decimal

from apps.matching.services.allocations import allocation_commit
from tests.factories import NeedFactory, OrganizationFactory, PledgeFactory, propose

SECRET_NAME = "Hidden Girls School of Zabul"
SECRET_LOCATION = "Behind the old bazaar, second lane, green gate"
SECRET_AMOUNT = Decimal("7777.77")


@dataclass
class World:
    sensitive_org: object
    sensitive_need: object


def need(org, **fields):
    defaults = dict(
        organization=org,
        sector_id="food_security",
        province_id="AF01",
        district_id=None,
        amount=Decimal("1000.00"),
        currency_id="USD",
        beneficiaries_women=5,
        beneficiaries_girls=5,
        beneficiaries_men=0,
        beneficiaries_boys=0,
    )
    return NeedFactory(**{**defaults, **fields})


def commit(need_row, amount: Decimal):
    pledge = PledgeFactory(amount=amount, currency_id=need_row.currency_id)
    allocation_commit(allocation_id=propose(pledge, need_row, amount).pk)


def build() -> World:
    # USD, published: Kabul (food security, 3 organizations) and Kapisa (education, 3).
    kabul = [need(OrganizationFactory()) for _ in range(3)]
    for _ in range(3):
        need(OrganizationFactory(), province_id="AF02", sector_id="education", amount=Decimal(500))
    commit(kabul[0], Decimal("750.00"))
    # AFN, published: Parwan (health, 3 organizations).
    for _ in range(3):
        need(
            OrganizationFactory(),
            province_id="AF03",
            sector_id="health",
            currency_id="AFN",
            amount=Decimal("40000.00"),
        )
    # USD, suppressed: three lone organizations (one each in Logar, Nangarhar and Laghman, WASH),
    # pooled (3 organizations, 30 people: the pool passes) ...
    for province in ("AF05", "AF06", "AF07"):
        need(OrganizationFactory(), province_id=province, sector_id="wash", amount=Decimal(200))
    # ... and a sensitive school alone in Zabul, with its exact location.
    school = OrganizationFactory(name=SECRET_NAME, sensitive=True, province_id="AF26")
    secret = need(
        school,
        province_id="AF26",
        district_id="AF2601",
        sector_id="education",
        amount=SECRET_AMOUNT,
        beneficiaries_girls=80,
        location_detail=SECRET_LOCATION,
        title="Books for the girls' school",
    )
    return World(sensitive_org=school, sensitive_need=secret)
