"""The browser tests' tools: Debian's headless Chromium driven by Selenium through Debian's
chromedriver (never a browser or a driver downloaded by a tool: the paths are given, so Selenium
Manager is never run), axe-core from node_modules, page weight and screenshots.

Used by tests/browser/conftest.py (the fixtures) and importable by the tests themselves."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
AXE_JS = ROOT / "node_modules/axe-core/axe.min.js"
# A phone: the pages are phone first.
PHONE = (360, 740)
# Chromium on a closed network: no background traffic, no updates, no sync; a profile of its own.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)
SERIOUS = ("serious", "critical")


def start_chromium(size: tuple[int, int] = PHONE) -> webdriver.Chrome:
    """A headless Chromium with a fresh profile, its viewport `size` (CSS pixels). Quit it with
    `stop_chromium`, which also removes the profile."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    if missing:
        raise RuntimeError(
            f"{', '.join(missing)} missing: install Debian's chromium and chromium-driver "
            "(scripts/test does, via ensure_chromium in scripts/lib.sh)"
        )
    profile = tempfile.mkdtemp(prefix="aidmatch-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={size[0]},{size[1]}")
    options.add_argument("--lang=en-US")
    service = Service(CHROMEDRIVER, log_output=subprocess.DEVNULL)
    driver = webdriver.Chrome(service=service, options=options)
    driver.aidmatch_profile = profile
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    # The window's size includes no browser chrome in headless mode, but set the viewport
    # exactly all the same (what the page's media queries see).
    _viewport(driver, *size)
    driver.execute_cdp_cmd("Network.enable", {})
    return driver


def stop_chromium(driver: webdriver.Chrome) -> None:
    try:
        driver.quit()
    finally:
        shutil.rmtree(getattr(driver, "aidmatch_profile", ""), ignore_errors=True)


def reset(driver: webdriver.Chrome) -> None:
    """Between tests: no cookies, an empty cache, a blank page."""
    driver.get("about:blank")
    driver.delete_all_cookies()
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.execute_cdp_cmd("Network.clearBrowserCache", {})


def set_language(driver: webdriver.Chrome, base_url: str, language: str) -> None:
    """The language cookie the pages' switch sets (`aidmatch_language`), for `base_url`'s
    host (the page at /healthz is loaded first: a cookie needs its domain's page)."""
    from django.conf import settings

    _on_site(driver, base_url)
    driver.add_cookie({"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "path": "/"})


def sign_in(driver: webdriver.Chrome, base_url: str, user) -> None:
    """`user` signed in for `base_url`'s host: a real session (Django's test client logs in,
    and its session cookie goes to the browser)."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    _on_site(driver, base_url)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    driver.add_cookie(
        {"name": settings.SESSION_COOKIE_NAME, "value": session, "path": "/", "httpOnly": True}
    )


def _on_site(driver: webdriver.Chrome, base_url: str) -> None:
    if not driver.current_url.startswith(base_url):
        driver.get(f"{base_url}/healthz")


@cache
def _axe_source() -> str:
    if not AXE_JS.is_file():
        raise RuntimeError(f"{AXE_JS} missing: run `npm ci` (scripts/test does)")
    return AXE_JS.read_text(encoding="utf-8")


def axe(driver: webdriver.Chrome, *, impacts: tuple[str, ...] = SERIOUS) -> list[dict]:
    """axe-core's violations on the current page whose impact is one of `impacts` (serious or
    critical by default), each as {id, impact, help, nodes: [{target, html, summary}]}."""
    driver.execute_script(_axe_source())
    result = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ["violations"]})
          .then((r) => done({violations: r.violations}))
          .catch((e) => done({error: String(e)}));
        """
    )
    if "error" in result:
        raise RuntimeError(f"axe-core failed: {result['error']}")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [
                {"target": n["target"], "html": n["html"][:200], "summary": n["failureSummary"]}
                for n in v["nodes"]
            ],
        }
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def page_weight(driver: webdriver.Chrome) -> int:
    """Bytes transferred for the current page: the document and every resource it loaded that
    did not come from the cache (Navigation and Resource Timing transferSize: headers and the
    body as sent, compressed if it was). Load the page after `reset` for a first visit."""
    return int(
        driver.execute_script(
            """
            const entries = performance.getEntriesByType("navigation")
              .concat(performance.getEntriesByType("resource"));
            return entries.reduce((sum, e) => sum + (e.transferSize || 0), 0);
            """
        )
    )


def resources(driver: webdriver.Chrome) -> list[dict]:
    """What the current page loaded: [{name, transferSize, initiatorType}], the document first."""
    return driver.execute_script(
        """
        return performance.getEntriesByType("navigation")
          .concat(performance.getEntriesByType("resource"))
          .map((e) => ({name: e.name, transferSize: e.transferSize,
                        initiatorType: e.initiatorType || "navigation"}));
        """
    )


def screenshot(driver: webdriver.Chrome, path: str | Path, *, full_page: bool = True) -> Path:
    """A PNG of the page at the viewport's width (the whole page's height when `full_page`: the
    viewport is made that tall for the shot, then put back), reduced to a 256-colour palette so
    that it stays small enough to commit."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = driver.execute_script(
        "return [window.innerWidth, document.documentElement.scrollHeight];"
    )
    if full_page:
        _viewport(driver, width, height)
    try:
        data = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})["data"]
    finally:
        if full_page:
            _viewport(driver, *PHONE)
    image = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path


def _viewport(driver: webdriver.Chrome, width: int, height: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True},
    )


def click_through(driver: webdriver.Chrome, by: str, value: str, *, timeout: float = 15) -> None:
    """Click what leads to another page, and wait until that page has replaced this one and
    finished loading. A node found while Chromium was still swapping documents can be gone
    when the click reaches it ("does not belong to the document", seen in CI under load): the
    click is tried again on the settled page, never counted as done."""
    for attempt in range(3):
        _loaded(driver, timeout)
        old = driver.find_element(By.TAG_NAME, "html")
        try:
            driver.find_element(by, value).click()
            break
        except WebDriverException as exc:
            if not _swapped(exc) or attempt == 2:
                raise
    WebDriverWait(driver, timeout).until(lambda _: _gone(old))
    _loaded(driver, timeout)


def _loaded(driver: webdriver.Chrome, timeout: float) -> None:
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def _swapped(exc: WebDriverException) -> bool:
    """Chromium's two ways of saying a node's document was replaced."""
    return isinstance(exc, StaleElementReferenceException) or (
        "does not belong to the document" in str(exc)
    )


def _gone(element) -> bool:
    """Selenium's ``staleness_of``, also when Chromium answers mid-swap with "does not belong
    to the document" instead of a stale element reference."""
    try:
        element.is_enabled()
    except WebDriverException as exc:
        if _swapped(exc):
            return True
        raise
    return False
