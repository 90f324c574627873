"""Security headers, the Host check, CSV export safety, odd campaign names and date ranges."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote, unquote

import pytest
import sqlalchemy as sa
from web_data import ODD_CAMPAIGNS, client_for, log_in

from signage.settings import WebSettings
from signage.web.headers import CONTENT_SECURITY_POLICY, host_allowed, host_name
from signage.web.server import allowed_hosts


def test_every_page_carries_the_security_headers(web_engine: sa.Engine) -> None:
    client = client_for(web_engine)
    anonymous = client.get("/login")
    assert log_in(client, "alice") == 303
    pages = [anonymous, client.get("/"), client.get("/campaigns/summer-cola"), client.get("/api/campaigns")]
    pages += [client.get("/campaigns/summer-cola/export.csv"), client.get("/campaigns/no-such")]
    for r in pages:
        h = r.headers
        assert h["content-security-policy"] == CONTENT_SECURITY_POLICY, r.url
        assert "frame-ancestors 'none'" in h["content-security-policy"]
        assert "script-src" not in h["content-security-policy"]  # default-src 'none': no script at all
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "no-referrer"
        assert h["cache-control"] == "no-store", r.url
        assert "strict-transport-security" not in h  # plain HTTP: HSTS would be ignored or wrong
    css = client.get("/static/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "<style>" not in css.text and "nav {" in css.text
    assert css.headers["cache-control"] == "public, max-age=3600"


def test_pages_have_no_inline_style_or_script(web_engine: sa.Engine) -> None:
    client = client_for(web_engine)
    assert log_in(client, "admin") == 303
    for path in ("/login", "/", "/campaigns/summer-cola", "/admin/screens"):
        html = client.get(path).text
        assert "<style" not in html and "<script" not in html and " style=" not in html, path
        assert '<link rel="stylesheet" href="/static/style.css">' in html or path == "/login"


def test_hsts_behind_tls(web_engine: sa.Engine) -> None:
    client = client_for(web_engine, https_only=True)
    assert client.get("https://testserver/login").headers["strict-transport-security"] == "max-age=31536000"


def test_an_unknown_host_is_refused(web_engine: sa.Engine) -> None:
    client = client_for(web_engine)
    assert client.get("/login").status_code == 200
    for host in ("evil.example", "testserver.evil.example", ""):
        r = client.get("/login", headers={"Host": host})
        assert r.status_code == 400 and r.text == "Invalid host header", host
        assert r.headers["x-content-type-options"] == "nosniff"
    assert client.get("/login", headers={"Host": "testserver:8080"}).status_code == 200


def test_host_patterns_and_the_bind_host() -> None:
    assert host_name("[::1]:8080") == "::1" and host_name("Example.COM:443") == "example.com"
    assert host_name("::1") == "::1"
    assert host_allowed("::1", ("::1",)) and host_allowed("::1", ("[::1]",))
    assert host_allowed("a.example.com", ("*.example.com",)) and not host_allowed(
        "example.com", ("*.example.com",)
    )
    assert not host_allowed("badexample.com", ("*.example.com",))
    assert host_allowed("anything", ("*",)) and not host_allowed("", ("*",))
    web = WebSettings()
    assert allowed_hosts(web, "192.0.2.10") == ("localhost", "127.0.0.1", "::1", "192.0.2.10")
    assert allowed_hosts(web, "0.0.0.0") == ("localhost", "127.0.0.1", "::1")
    assert allowed_hosts(WebSettings(allowed_hosts=("signage.example",)), "127.0.0.1") == (
        "signage.example",
        "127.0.0.1",
    )


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_odd_campaign_names_open_and_export(odd_engine: sa.Engine) -> None:
    client = client_for(odd_engine)
    assert log_in(client, "alice") == 303
    overview = client.get("/").text
    for name in ODD_CAMPAIGNS:
        link = f"/campaigns/{quote(name, safe='/')}"
        assert client.get(link).status_code == 200, name
        assert client.get(f"/api/campaigns/{quote(name, safe='')}").json()["total"]["plays"] == 2, name
        r = client.get(f"{link}/export.csv")
        assert r.status_code == 200, name
        rows = _csv_rows(r.text)
        assert rows[1][0] == "total" and rows[2][2].lstrip("'") == name
        disposition = r.headers["content-disposition"]
        assert disposition.isascii()
        plain, exact = disposition.split("; filename*=UTF-8''")
        assert plain.startswith('attachment; filename="campaign-') and plain.endswith('.csv"')
        assert unquote(exact) == f"campaign-{name.replace('/', '_').replace(chr(34), '_')}.csv"
    assert 'href="/campaigns/spring/2026"' in overview  # the page links to the slash name as it is


def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(odd_engine: sa.Engine) -> None:
    client = client_for(odd_engine)
    assert log_in(client, "alice") == 303
    rows = _csv_rows(client.get(f"/campaigns/{quote(ODD_CAMPAIGNS[2], safe='')}/export.csv").text)
    campaign_cells = [row[2] for row in rows[1:] if row[2]]
    assert campaign_cells and all(cell == "'" + ODD_CAMPAIGNS[2] for cell in campaign_cells)
    plain = _csv_rows(client.get("/campaigns/summer-cola/export.csv").text)
    assert {row[2] for row in plain[1:] if row[2]} == {"summer-cola"}  # ordinary names untouched


@pytest.mark.parametrize(
    "query",
    ["from=0001-01-01", "to=9999-12-31", "from=1999-12-31", "from=2026-05-02&to=2026-05-01", "from=May-1"],
)
def test_out_of_range_dates_are_a_400_with_a_message(web_engine: sa.Engine, query: str) -> None:
    client = client_for(web_engine)
    assert log_in(client, "alice") == 303
    for path in (
        "/",
        "/campaigns/summer-cola",
        "/campaigns/summer-cola/export.csv",
        "/api/campaigns/summer-cola",
    ):
        r = client.get(f"{path}?{query}")
        assert r.status_code == 400, (path, query)
        assert "detail" in r.json()


def test_dates_inside_the_range_still_work(web_engine: sa.Engine) -> None:
    client = client_for(web_engine)
    assert log_in(client, "alice") == 303
    r = client.get("/api/campaigns/summer-cola?from=2000-01-01&to=2099-12-31")
    assert r.status_code == 200 and r.json()["total"]["plays"] == 6
