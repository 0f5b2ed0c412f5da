"""/funding/ in a phone's browser: English, Dari and Pashto, accessible (axe-core: no serious or
critical violation), light (under 100 KB transferred on a first visit), and its Dari screenshot
kept in docs/screenshots/funding-fa.png."""

import pytest
from django.utils import translation
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from apps.funding.views import forget_cached_pages
from tests.apps.funding import world
from tests.browser.harness import ROOT, click_through, resources

pytestmark = pytest.mark.browser

SCREENSHOT = ROOT / "docs/screenshots/funding-fa.png"


@pytest.fixture
def funding(live_server):
    forget_cached_pages()
    world.build()
    yield f"{live_server.url}/funding/"
    forget_cached_pages()


@pytest.mark.parametrize(("language", "direction"), [("en", "ltr"), ("fa", "rtl"), ("ps", "rtl")])
def test_the_page_in_each_language(
    browser, funding, set_language, axe, page_weight, screenshot, language, direction
):
    set_language(language)
    browser.get(funding)

    html = browser.find_element(By.TAG_NAME, "html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == (language, direction)
    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "h1, h2, h3")]
    with translation.override(language):
        for text in ("Funding by province and sector", "By province", "By sector"):
            assert translation.gettext(text) in headings
        if language != "en":
            assert translation.gettext("By province") != "By province"
    # The charts are drawn, one bar per line: in US dollars Kabul and Kapisa, then the pooled
    # small groups (and the legend's key).
    chart = browser.find_element(By.CSS_SELECTOR, "section[aria-labelledby=h-USD] svg")
    assert chart.get_attribute("role") == "img"
    assert len(chart.find_elements(By.CSS_SELECTOR, "rect.needed")) == 1 + 3

    assert axe(browser) == []

    weight = page_weight(browser)  # a first visit: the browser's cache was emptied
    loaded = resources(browser)
    assert [r["initiatorType"] for r in loaded] == ["navigation", "link", "link"]
    assert 0 < weight < 100_000, loaded
    # Nothing else, and nothing outside the site.
    assert all(r["name"].startswith(funding.removesuffix("/funding/")) for r in loaded)

    if language == "fa":
        path = screenshot(browser, SCREENSHOT)
        assert path.stat().st_size < 150_000


def test_the_language_switch_on_the_page(browser, funding):
    browser.get(funding)
    Select(browser.find_element(By.ID, "lang-select")).select_by_value("ps")
    click_through(browser, By.CSS_SELECTOR, "form.lang button")
    html = browser.find_element(By.TAG_NAME, "html")
    assert browser.current_url == funding
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ps", "rtl")
