"""Fixtures of the browser tests (marker `browser`: `pytest -m browser` selects them,
`-m "not browser"` leaves them out). One Chromium per test session (per xdist worker), reset
between tests; the site is pytest-django's live_server.

    def test_page(browser, live_server, axe):
        set_language(browser, live_server.url, "fa")
        browser.get(f"{live_server.url}/funding/")
        assert axe(browser) == []
"""

from pathlib import Path

import pytest

from tests.browser import harness

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def _chromium(django_db_setup, live_server):
    # After the test database and the live server, so quit before them: Chromium's keep-alive
    # connections hold request threads (and their database connections) of the live server.
    driver = harness.start_chromium()
    yield driver
    harness.stop_chromium(driver)


@pytest.fixture
def browser(_chromium):
    """The session's headless Chromium (a 360×740 phone viewport), with no cookies and an empty
    cache at the start of each test."""
    harness.reset(_chromium)
    return _chromium


@pytest.fixture
def set_language(browser, live_server):
    """set_language("fa"): the language cookie for the live server."""
    return lambda language: harness.set_language(browser, live_server.url, language)


@pytest.fixture
def sign_in(browser, live_server):
    """sign_in(user): that user's session in the browser, for the live server."""
    return lambda user: harness.sign_in(browser, live_server.url, user)


@pytest.fixture
def axe():
    """axe(driver): the current page's serious and critical axe-core violations."""
    return harness.axe


@pytest.fixture
def page_weight():
    """page_weight(driver): bytes transferred for the current page (document + resources not
    from the cache)."""
    return harness.page_weight


@pytest.fixture
def screenshot():
    """screenshot(driver, path): a small PNG of the whole page at the viewport's width."""
    return harness.screenshot
