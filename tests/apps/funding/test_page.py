"""/funding/: the public summary's figures by province and by sector, for anyone, in English,
Dari and Pashto, cached per language."""

import gzip
from collections import defaultdict
from decimal import Decimal

import lxml.html
import pytest
from django.test import Client
from django.utils import translation

from apps.core import l10n
from apps.funding.selectors import localized_name
from apps.reference.models import Province, Sector
from tests.apps.funding import world
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def page(client, language="en", **headers):
    response = client.get("/funding/", HTTP_ACCEPT_LANGUAGE=language, **headers)
    assert response.status_code == 200
    return response


def tables(html: bytes) -> dict[str, dict[str, list[str]]]:
    """Each table by its caption: {row header: [needed, funded, percent]}."""
    tree = lxml.html.fromstring(html)
    return {
        table.findtext("caption"): {
            row.findtext("th"): [td.text_content() for td in row.findall("td")]
            for row in table.findall("tbody/tr")
        }
        for table in tree.iter("table")
    }


def sums(cells, key):
    totals = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for cell in cells:
        totals[(cell["currency"], cell[key])][0] += Decimal(cell["needed"])
        totals[(cell["currency"], cell[key])][1] += Decimal(cell["committed"])
    return totals


def test_the_figures_are_the_public_summarys_summed_by_province_and_by_sector(anon, client):
    world.build()
    api = anon.get("/api/v1/public/funding-summary").json()
    assert len(api["cells"]) == 3 and len(api["suppressed"]) == 1  # the world is as meant

    shown = tables(page(client).content)

    money = l10n.format_money
    expected = {}
    for key, model, label in (("province", Province, "province"), ("sector", Sector, "sector")):
        for (currency, code), (needed, funded) in sums(api["cells"], key).items():
            caption = f"Needed and funded by {label} ({currency})"
            name = model.objects.get(pk=code).name
            percent = (funded * 100 / needed).quantize(Decimal("0.1"))
            expected.setdefault(caption, {})[name] = [
                money(needed, currency, "en"),
                money(funded, currency, "en"),
                f"{percent}%",
            ]
    for pool in api["suppressed"]:
        for label in ("province", "sector"):
            expected[f"Needed and funded by {label} ({pool['currency']})"][
                "Small groups, pooled"
            ] = [
                money(Decimal(pool["needed"]), pool["currency"], "en"),
                money(Decimal(pool["committed"]), pool["currency"], "en"),
                f"{pool['percent_funded']}%",
            ]
    assert shown == expected
    # Spelled out, for the reader: Kabul's 3 000 USD, 750 of it committed.
    assert shown["Needed and funded by province (USD)"]["Kabul"] == [
        "$3,000.00",
        "$750.00",
        "25.0%",
    ]


@pytest.mark.parametrize("language", ["en", "fa", "ps"])
def test_suppressed_cells_carry_no_numbers(client, language):
    world.build()
    body = page(client, language).content.decode()

    with translation.override(language):
        for province in ("AF05", "AF06", "AF07", "AF26"):  # only in suppressed cells
            row = Province.objects.get(pk=province)
            assert row.name not in body and localized_name(row, language) not in body
        wash = Sector.objects.get(pk="wash")
        assert wash.name not in body and localized_name(wash, language) not in body
        for lone in (Decimal(200), world.SECRET_AMOUNT):
            assert l10n.format_money(lone, "USD", language) not in body
        assert "7777" not in body and "۷۷۷۷" not in body
        # What is shown of them: their count and, since the pool passes, the pooled line.
        pooled = world.SECRET_AMOUNT + 3 * 200
        assert l10n.format_money(pooled, "USD", language) in body
        assert l10n.format_number(4, language) in body


def test_a_pool_that_does_not_pass_is_not_shown_at_all(client):
    for _ in range(3):
        world.need(OrganizationFactory())
    school = OrganizationFactory(name=world.SECRET_NAME, sensitive=True)
    world.need(school, province_id="AF26", amount=world.SECRET_AMOUNT)

    html = page(client).content
    body = html.decode()

    assert tables(html) == {
        "Needed and funded by province (USD)": {"Kabul": ["$3,000.00", "$0.00", "0.0%"]},
        "Needed and funded by sector (USD)": {"Food Security": ["$3,000.00", "$0.00", "0.0%"]},
    }
    assert "1 group (one province, one sector, one currency) is suppressed" in body
    assert "7,777" not in body and "Zabul" not in body and world.SECRET_NAME not in body


def test_no_figures_yet(client):
    assert "No figures to show yet." in page(client).content.decode()


@pytest.mark.parametrize(
    ("language", "direction", "heading"),
    [
        ("en", "ltr", "Funding by province and sector"),
        ("fa", "rtl", "تمویل به تفکیک ولایت و سکتور"),
        ("ps", "rtl", "تمویل د ولایت او سکتور له مخې"),
    ],
)
def test_three_languages(client, language, direction, heading):
    world.build()
    for response in (
        page(client, language),  # Accept-Language
        page(Client(), "en", HTTP_COOKIE=f"aidmatch_language={language}"),  # the switch's cookie
    ):
        tree = lxml.html.fromstring(response.content)
        assert (tree.get("lang"), tree.get("dir")) == (language, direction)
        assert response["Content-Language"] == language
        assert tree.findtext(".//h1") == heading
        with translation.override(language):
            headings = [h.text_content() for h in tree.iter("h2", "h3")]
            assert translation.gettext("By province") in headings
            assert translation.gettext("By sector") in headings
            assert translation.gettext("Amounts in %(currency)s") % {"currency": "AFN"} in headings
        kabul = localized_name(Province.objects.get(pk="AF01"), language)  # once names exist
        assert kabul in [th.text_content() for th in tree.iter("th")]
        dates = tree.findtext(".//p[@class='as-of']")
        if language != "en":  # Solar Hijri first, Afghan digits
            assert "قوس" in dates or "لیندۍ" in dates or "هـ ش" in dates or "لمریز" in dates
            assert not any(d in dates for d in "0123456789")
        for svg in tree.iter("{http://www.w3.org/2000/svg}svg", "svg"):
            assert svg.get("role") == "img" and svg.get("aria-label")
            assert svg.get("direction") == direction
            assert svg.find("title") is not None and svg.find("desc") is not None


def test_the_bars_start_on_the_right_in_dari_and_pashto(client):
    world.build()
    for language, anchored in (("en", "start"), ("fa", "end")):
        tree = lxml.html.fromstring(page(client, language).content)
        svg = next(tree.iter("svg"))
        bars = [r for r in svg.iter("rect") if r.get("y") != "6"]  # not the legend's keys
        for bar in bars:
            x, width = float(bar.get("x")), float(bar.get("width"))
            if anchored == "start":
                assert x == 0
            else:
                assert x + width == pytest.approx(320, abs=0.1)


def test_cache_headers_suit_shared_caches(client):
    world.build()
    response = page(client)
    assert set(response["Cache-Control"].split(", ")) == {"public", "max-age=60", "s-maxage=60"}
    assert {"Accept-Language", "Cookie"} <= {v.strip() for v in response["Vary"].split(",")}
    assert not response.cookies  # nothing per visitor: no session, no CSRF cookie
    assert b"csrfmiddlewaretoken" not in response.content


def test_a_cached_page_costs_no_query_and_each_language_has_its_own(
    client, django_assert_num_queries
):
    world.build()
    first = page(client, "en").content
    with django_assert_num_queries(0):
        again = page(client, "en").content
    assert again == first
    world.need(OrganizationFactory(), province_id="AF01", amount=Decimal("5000.00"))
    assert page(client, "en").content == first  # until the cache entry expires (60 s)
    dari = page(client, "fa").content  # rendered afresh: it has the new need
    assert l10n.format_money(Decimal("8000.00"), "USD", "fa") in dari.decode()


def test_gzip_when_asked(client):
    world.build()
    plain = page(client).content
    response = page(client, HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.content) == plain
    assert "Accept-Encoding" in response["Vary"]


def test_the_language_switch_needs_no_token():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/funding/language", {"language": "ps", "next": "/funding/"})
    assert response.status_code == 302 and response["Location"] == "/funding/"
    assert response.cookies["aidmatch_language"].value == "ps"
    assert client.get("/funding/").headers["Content-Language"] == "ps"
    assert client.get("/funding/language").status_code == 405
    # The switch on the page posts there, back to /funding/.
    form = lxml.html.fromstring(client.get("/funding/").content).find(".//form")
    assert form.get("action") == "/funding/language"
    assert form.find(".//input[@name='next']").get("value") == "/funding/"


def test_only_reads(client):
    assert client.post("/funding/").status_code == 405
    assert client.head("/funding/").status_code == 200


def test_the_whole_country_stays_under_100_kb(client):
    """Every province and every sector with published figures, in two currencies: the worst
    case the page has today, well under the budget before compression."""
    organizations = [OrganizationFactory() for _ in range(3)]
    sectors = list(Sector.objects.values_list("pk", flat=True))
    for i, province in enumerate(Province.objects.values_list("pk", flat=True)):
        for org in organizations:
            for currency in ("USD", "AFN"):
                world.need(
                    org,
                    province_id=province,
                    sector_id=sectors[i % len(sectors)],
                    currency_id=currency,
                )
    for language in ("en", "fa", "ps"):
        body = page(client, language).content
        assert len(body) < 100_000, (language, len(body))


def test_the_page_is_served_with_the_cache_down(client, settings, caplog):
    """Redis unreachable: the page is rendered for each request instead of failing."""
    world.build()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    body = page(client, "fa").content.decode()
    assert "تمویل به تفکیک ولایت و سکتور" in body
    assert "cache unreachable" in caplog.text


def test_the_front_door_leads_to_the_funding_page():
    answer = Client().get("/")

    assert answer.status_code == 302
    assert answer["Location"] == "/funding/"
