"""Needs lists: filters and ordering give the right rows; unknown codes are a 400."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import NeedFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.now().date()


@pytest.fixture
def needs():
    food_kabul = NeedFactory(urgency=5, deadline=TODAY + timedelta(days=10))
    school_herat = NeedFactory(
        sector_id="education",
        province_id="AF32",
        district_id="AF3201",
        urgency=3,
        deadline=TODAY + timedelta(days=40),
        amount=Decimal("3000.00"),
    )
    health_kabul = NeedFactory(
        sector_id="health", urgency=1, deadline=TODAY + timedelta(days=90), amount=Decimal("50.00")
    )
    draft = NeedFactory(status="draft")
    return {"food": food_kabul, "school": school_herat, "health": health_kabul, "draft": draft}


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [n["id"] for n in response.json()["results"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"sector": "education"}, ["school"]),
        ({"province": "AF01"}, ["food", "health"]),
        ({"urgency": 5}, ["food"]),
        ({"urgency_min": 3}, ["food", "school"]),
        ({"deadline_before": (TODAY + timedelta(days=40)).isoformat()}, ["food", "school"]),
        ({"status": "open", "sector": "health"}, ["health"]),
    ],
)
def test_filters_narrow_the_list(donor_client, needs, query, expected):
    got = _ids(donor_client.get("/api/v1/needs/", query))

    assert sorted(got) == sorted(str(needs[name].pk) for name in expected)


def test_filter_by_organization(donor_client, needs):
    got = _ids(
        donor_client.get("/api/v1/needs/", {"organization": needs["school"].organization_id})
    )

    assert got == [str(needs["school"].pk)]


def test_search_on_title_for_signed_in_callers(donor_client, needs):
    needs["school"].title = "Books for a girls' home school"
    needs["school"].save()

    assert _ids(donor_client.get("/api/v1/needs/", {"q": "home school"})) == [
        str(needs["school"].pk)
    ]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("-urgency", ["food", "school", "health"]),
        ("deadline", ["food", "school", "health"]),
        ("-remaining_amount", ["food", "school", "health"]),
        ("remaining_amount", ["health", "school", "food"]),
    ],
)
def test_ordering(anon, needs, ordering, expected):
    got = _ids(anon.get("/api/v1/needs/", {"ordering": ordering}))

    assert got == [str(needs[name].pk) for name in expected]


def test_ordering_pages_through_every_row_once(anon):
    """Cursor pages under a non-unique ordering neither skip nor repeat a need."""
    made = {str(NeedFactory(urgency=1 + i % 3).pk) for i in range(9)}
    seen: list[str] = []
    response = anon.get("/api/v1/needs/", {"ordering": "-urgency", "page_size": 2})
    while True:
        seen += _ids(response)
        link = response.json()["next"]
        if not link:
            break
        response = anon.get(link)

    assert sorted(seen) == sorted(made)


@pytest.mark.parametrize(
    "query",
    [{"province": "AF99"}, {"sector": "weapons"}, {"currency": "XXX"}, {"urgency": 9}],
)
def test_unknown_codes_are_a_400_not_an_empty_list(anon, query):
    OrganizationFactory()
    response = anon.get("/api/v1/needs/", query)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert set(query) <= set(response.json()["errors"])
