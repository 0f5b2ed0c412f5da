"""The browser harness itself: Debian's Chromium at a phone's width, axe-core finding what it
should, page weight counting what was sent, the language cookie, sign-in and screenshots."""

import re
import subprocess

import pytest
from PIL import Image

from tests.browser import harness
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

BAD_PAGE = """data:text/html,<!doctype html><html><head><title>t</title></head><body><main>
<img src="x.png"><a href="/"></a><p style="color:%23777;background:%23888">low contrast</p>
</main></body></html>"""
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1">'
GOOD_PAGE = f"""data:text/html,<!doctype html><html lang="en"><head><title>t</title>{VIEWPORT}
</head><body><main><h1>Hello</h1><img src="x.png" alt="A thing"><a href="/">Home</a></main>
</body></html>"""


def test_the_browser_is_debians_chromium_at_a_phones_width(browser):
    version = subprocess.run(
        [harness.CHROMIUM, "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert browser.capabilities["browserVersion"] in version
    browser.get(GOOD_PAGE)
    assert browser.execute_script("return window.innerWidth") == 360


def test_axe_reports_serious_violations_and_nothing_on_a_clean_page(browser, axe):
    browser.get(BAD_PAGE)
    found = {v["id"] for v in axe(browser)}
    assert {"image-alt", "link-name", "color-contrast", "html-has-lang"} <= found
    assert all(v["impact"] in ("serious", "critical") for v in axe(browser))
    browser.get(GOOD_PAGE)
    assert axe(browser) == []


def test_page_weight_counts_the_document_and_resources_not_cached(
    browser, live_server, page_weight, client
):
    url = f"{live_server.url}/admin/login/"
    html = client.get("/admin/login/").content
    browser.get(url)
    cold = page_weight(browser)
    loaded = harness.resources(browser)
    stylesheets = [r for r in loaded if r["initiatorType"] == "link"]
    assert stylesheets, loaded
    assert cold > len(html) + sum(1 for _ in stylesheets) * 100
    assert cold >= sum(r["transferSize"] for r in loaded) > 0
    browser.get(url)  # the stylesheets come from the cache now (at most a 304 each)
    assert page_weight(browser) < cold


def test_the_language_cookie_picks_the_pages_language(browser, live_server, set_language):
    set_language("fa")
    browser.get(f"{live_server.url}/admin/login/")
    html = browser.find_element("tag name", "html")
    assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("fa", "rtl")


def test_sign_in_gives_the_browser_the_users_session(browser, live_server, sign_in):
    user = UserFactory(email="browser-user@example.org", is_staff=True, is_superuser=True)
    browser.get(f"{live_server.url}/admin/")
    assert "/admin/login/" in browser.current_url  # not signed in: the admin's sign-in page
    sign_in(user)
    browser.get(f"{live_server.url}/admin/")
    assert browser.current_url == f"{live_server.url}/admin/"
    assert "browser-user@example.org" in browser.page_source


def test_screenshot_is_a_small_png_of_the_whole_page(browser, screenshot, tmp_path):
    browser.get(
        f"data:text/html,<!doctype html><html lang=en><title>t</title>{VIEWPORT}"
        + "".join(f"<p>line {i}</p>" for i in range(60))
    )
    path = screenshot(browser, tmp_path / "shots/page.png")
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width == 360
        assert image.height > 740  # beyond the viewport: the whole page
    assert path.stat().st_size < 200_000
    assert re.fullmatch(r".*\.png", str(path))


class _Node:
    def __init__(self, error=None):
        self.error = error

    def is_enabled(self):
        if self.error:
            raise self.error
        return True


def test_a_node_counts_as_gone_when_chromium_says_it_left_the_document():
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    swapped = WebDriverException("Node with given id does not belong to the document")
    assert harness._gone(_Node(swapped))
    assert harness._gone(_Node(StaleElementReferenceException("stale")))
    assert not harness._gone(_Node())
    with pytest.raises(WebDriverException, match="chrome not reachable"):
        harness._gone(_Node(WebDriverException("chrome not reachable")))
