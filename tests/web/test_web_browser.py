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
