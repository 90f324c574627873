"""The dashboard in Debian's headless Chromium, driven by Playwright, against a real uvicorn server."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
import uvicorn
from web_data import NOW, PASSWORD, web_config

from signage.web.app import create_app

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="Debian chromium is not installed"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def base_url(web_engine: sa.Engine) -> Iterator[str]:
    port = _free_port()
    app = create_app(web_engine, web_config(), now=lambda: NOW)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


def test_log_in_read_a_campaign_fail_on_another_and_log_out(base_url: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{base_url}/campaigns/summer-cola")
            assert page.url.endswith("/login")  # not logged in: sent to the login page

            page.fill("#username", "alice")
            page.fill("#password", PASSWORD)
            page.click("#login")
            page.wait_for_url(f"{base_url}/")
            assert page.locator("a.campaign").all_inner_texts() == ["summer-cola"]

            page.click("a.campaign")
            page.wait_for_url(f"{base_url}/campaigns/summer-cola")
            assert page.locator("#kpi-plays").inner_text() == "6"
            assert page.locator("#kpi-viewers").inner_text() == "12"
            images = page.locator("figure img")
            assert images.count() == 5
            # Real images: the browser decoded them to non-zero sizes.
            widths = [images.nth(i).evaluate("img => img.naturalWidth") for i in range(images.count())]
            assert all(w > 100 for w in widths)

            response = page.goto(f"{base_url}/campaigns/run-fast")  # bob's campaign
            assert response is not None and response.status == 404

            page.goto(f"{base_url}/")
            page.click("#logout")
            page.wait_for_url(f"{base_url}/login")
            response = page.goto(f"{base_url}/api/campaigns")
            assert response is not None and response.status == 401
        finally:
            browser.close()


# Collects Content-Security-Policy violations in each document (added before any page script runs).
_CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def test_pages_work_under_the_content_security_policy(base_url: str) -> None:
    from playwright.sync_api import Page, sync_playwright

    console: list[str] = []

    def violations(page: Page) -> list[str]:
        found: list[str] = page.evaluate("window.__cspViolations")
        return found + [m for m in console if "Content Security Policy" in m]

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.add_init_script(_CSP_WATCH)
            page.on("console", lambda m: console.append(m.text))
            response = page.goto(f"{base_url}/login")
            assert (
                response is not None
                and "frame-ancestors 'none'" in response.headers["content-security-policy"]
            )
            # The stylesheet (/static/style.css) applied: the body has its width.
            assert page.evaluate("getComputedStyle(document.body).maxWidth") == "1000px"
            assert violations(page) == []

            page.fill("#username", "alice")
            page.fill("#password", PASSWORD)
            page.click("#login")
            page.wait_for_url(f"{base_url}/")
            assert page.evaluate("getComputedStyle(document.querySelector('nav')).display") == "flex"
            assert violations(page) == []

            page.click("a.campaign")
            page.wait_for_url(f"{base_url}/campaigns/summer-cola")
            images = page.locator("figure img")
            assert images.count() == 5  # the charts are data: images, which the policy allows
            widths = [images.nth(i).evaluate("img => img.naturalWidth") for i in range(images.count())]
            assert all(w > 100 for w in widths)
            assert violations(page) == []

            with page.expect_download() as download:
                page.click("text=Export CSV")
            assert download.value.suggested_filename == "campaign-summer-cola.csv"
            with open(download.value.path(), encoding="utf-8") as fh:
                assert fh.readline().startswith("level,advertiser,campaign,ad_id,screen_id,plays")
            assert violations(page) == []

            # The watch does see a violation: an inline style added now is refused.
            page.evaluate(
                "document.head.insertAdjacentHTML('beforeend', '<style>body { color: red }</style>')"
            )
            page.wait_for_function("window.__cspViolations.length > 0")
            assert page.evaluate("getComputedStyle(document.body).color") != "rgb(255, 0, 0)"
        finally:
            browser.close()
